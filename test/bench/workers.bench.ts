/**
 * `hopwatch proxy --workers N` and `--workers 1` against one hopwatch process and against nginx with 1 and N workers, side by side in
 * one run (issue 16: one process uses one core): SSE time to first event at 1,000 streams, saturation at 50
 * connections, and CPU per 1,000 requests at a fixed rate, counting every process (owner and workers; master and
 * workers). Both hopwatch proxies run the real CLI, recording into the embedded store. Three repeats, median and range.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { table } from '../../src/cli/output.js'
import { BIN } from '../support/cli.js'
import { child, closedLoop, f, fixedRate, median, percentile, SECONDS, spread, sseFirstEvent } from './load.js'
import { startNginx } from './nginx.js'
import { familyCpuSeconds, familyRssBytes } from './proc.js'

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3)
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2)
const RATE = Number(process.env.BENCH_RATE ?? 1000)
const SETTLE_MS = 3000

const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS))

interface Cli {
  proc: ChildProcess
  url: string
  output: () => string
}

/** The real `hopwatch proxy` (with `workers` worker processes; 0: without --workers), recording into an embedded store of its own. */
async function hopwatchProxy(dir: string, upstream: string, workers: number): Promise<Cli> {
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'hopwatch.yaml'), `proxy: { port: 0 }\nupstreams:\n  - { name: llm, component: llm, adapter: openai, target: "${upstream}", prefix: /u }\nstore: { dir: ./data }\ntelemetry: { receiver: { enabled: false } }\nalerts: { enabled: false }\n`)
  const proc = spawn(process.execPath, [BIN, 'proxy', ...(workers > 0 ? ['--workers', String(workers)] : [])], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  return new Promise((resolve, reject) => {
    proc.stdout?.on('data', (d) => {
      out += d
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out)
      if (m !== null) resolve({ proc, url: `${m[1]}/u`, output: () => out })
    })
    proc.once('exit', (code) => reject(new Error(`hopwatch proxy --workers ${workers} exited with ${code}:\n${out}`)))
  })
}

/** Stops the CLI and reads its closing table's hops line: rows, written, dropped. */
async function stopCli(cli: Cli): Promise<{ rows: number; written: number; dropped: number }> {
  cli.proc.kill('SIGTERM')
  await new Promise((r) => cli.proc.once('exit', r))
  const m = /^\s+hops\s+(\d+)\s+(\d+)\s+\d+\s+\d+\s+(\d+)/m.exec(cli.output())
  return { rows: Number(m?.[1] ?? Number.NaN), written: Number(m?.[2] ?? Number.NaN), dropped: Number(m?.[3] ?? Number.NaN) }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-workers-bench-'))
  const upstream = await child<{ port: number }>('upstream-child.js', [])
  const direct = `http://127.0.0.1:${upstream.ready.port}`
  const nginx1 = await startNginx(join(dir, 'nginx-1'), upstream.ready.port, 1)
  const nginxN = await startNginx(join(dir, `nginx-${WORKERS}`), upstream.ready.port, WORKERS)
  const one = await hopwatchProxy(join(dir, 'one'), direct, 0)
  const split = await hopwatchProxy(join(dir, 'split'), direct, 1)
  const pool = await hopwatchProxy(join(dir, 'pool'), direct, WORKERS)
  const paths = [
    { name: 'nginx, 1 worker', url: nginx1.url, cpu: () => nginx1.cpuSeconds(), rss: () => nginx1.rssBytes() },
    { name: `nginx, ${WORKERS} workers`, url: nginxN.url, cpu: () => nginxN.cpuSeconds(), rss: () => nginxN.rssBytes() },
    { name: 'hopwatch, one process', url: one.url, cpu: () => familyCpuSeconds(one.proc.pid as number), rss: () => familyRssBytes(one.proc.pid as number) },
    { name: 'hopwatch --workers 1', url: split.url, cpu: () => familyCpuSeconds(split.proc.pid as number), rss: () => familyRssBytes(split.proc.pid as number) },
    { name: `hopwatch --workers ${WORKERS}`, url: pool.url, cpu: () => familyCpuSeconds(pool.proc.pid as number), rss: () => familyRssBytes(pool.proc.pid as number) },
  ]
  console.log(`--workers ${WORKERS} vs one process vs nginx: ${REPEATS} repeats of ${SECONDS} s; recording into the embedded store; CPU and RSS of every process of each\n`)
  for (const p of paths) await closedLoop(p.url, '/plain', 50)

  const sse = new Map<string, number[]>(paths.map((p) => [p.name, []]))
  const sat = new Map<string, number[]>(paths.map((p) => [p.name, []]))
  const cpu = new Map<string, number[]>(paths.map((p) => [p.name, []]))
  const p99 = new Map<string, number[]>(paths.map((p) => [p.name, []]))
  for (let r = 0; r < REPEATS; r++) {
    const base = percentile((await sseFirstEvent(direct, 1000)).lat, 99)
    const directP99 = percentile((await fixedRate(direct, '/plain', RATE)).lat, 99)
    for (const p of paths) {
      sse.get(p.name)?.push(percentile((await sseFirstEvent(p.url, 1000)).lat, 99) - base)
      await settle()
    }
    for (const p of paths) sat.get(p.name)?.push((await closedLoop(p.url, '/plain', 50)).rps)
    await settle()
    for (const p of paths) {
      const c0 = await p.cpu()
      const run = await fixedRate(p.url, '/plain', RATE)
      await settle() // the owner's inserts of these rows count too
      cpu.get(p.name)?.push(((await p.cpu()) - c0) / (run.sent / 1000))
      p99.get(p.name)?.push(percentile(run.lat, 99) - directP99)
    }
  }
  const rss = await Promise.all(paths.map((p) => p.rss()))
  console.log(
    table(
      ['path', 'SSE first event p99 added ms (1,000 streams)', 'saturation rps (50 conns)', `cpu-s/1k req at ${RATE}/s`, `p99 added ms at ${RATE}/s`, 'RSS MB'],
      paths.map((p, i) => [p.name, spread(sse.get(p.name) ?? []), spread(sat.get(p.name) ?? [], 0), spread(cpu.get(p.name) ?? [], 3), spread(p99.get(p.name) ?? []), f((rss[i] as number) / 1e6, 0)]),
    ),
  )
  const ratio = (a: string, b: string, m: Map<string, number[]>) => f(median(m.get(a) ?? []) / median(m.get(b) ?? []))
  const poolName = `hopwatch --workers ${WORKERS}`
  console.log(`\n--workers ${WORKERS} / one process: SSE p99 added ${ratio(poolName, 'hopwatch, one process', sse)}×, saturation ${ratio(poolName, 'hopwatch, one process', sat)}×, cpu per request ${ratio(poolName, 'hopwatch, one process', cpu)}×`)
  console.log(`--workers 1 / one process: p99 added at ${RATE}/s ${ratio('hopwatch --workers 1', 'hopwatch, one process', p99)}×, cpu per request ${ratio('hopwatch --workers 1', 'hopwatch, one process', cpu)}×`)
  console.log(`--workers ${WORKERS} / nginx ${WORKERS} workers: SSE p99 added ${ratio(poolName, `nginx, ${WORKERS} workers`, sse)}× (goal ≤ 1.5), saturation ${ratio(poolName, `nginx, ${WORKERS} workers`, sat)}× (goal ≥ 0.5)`)

  for (const [name, cli] of [['one process', one], ['--workers 1', split], [`--workers ${WORKERS}`, pool]] as const) {
    const s = await stopCli(cli)
    console.log(`rows, ${name}: ${s.rows} hops, ${s.written} written, ${s.dropped} dropped${s.rows === s.written && s.dropped === 0 ? '' : '  ✗ rows written ≠ hops'}`)
  }
  upstream.proc.send('stop')
  await nginx1.stop()
  await nginxN.stop()
  await rm(dir, { recursive: true, force: true })
}

await main()
