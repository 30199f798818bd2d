/**
 * What recording costs against nginx with an access log, side by side in one run (issue 16's goals): at a fixed
 * rate, CPU seconds per 1,000 requests of every thread of each proxy process and the p99 latency each adds over a
 * direct call; throughput at saturation (closed loop, 50 connections); SSE time to first event at 1,000 streams; idle
 * RSS. Three repeats, median and range. The machine is shared and noisy: read the ratios, measured in the same run.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { table } from '../../src/cli/output.js'
import { ask, child, closedLoop, fixedRate, percentile, SECONDS, sseFirstEvent } from './load.js'
import { startNginx } from './nginx.js'

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3)
const RATE = Number(process.env.BENCH_RATE ?? 1000)
const SETTLE_MS = 3000

type Cpu = { cpuSeconds: number; hops: number; rssBytes: number; anonBytes?: number }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const f = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')
const spread = (xs: number[], digits = 2) => `${f(median(xs), digits)} (${f(Math.min(...xs), digits)}–${f(Math.max(...xs), digits)})`
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS))

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-cost-'))
  const upstream = await child<{ port: number }>('upstream-child.js', [])
  const direct = `http://127.0.0.1:${upstream.ready.port}`
  const nginx = await startNginx(join(dir, 'nginx'), upstream.ready.port, Number(process.env.BENCH_NGINX_WORKERS ?? 1))
  const recording = await child<{ url: string }>('proxy-child.js', [direct, 'embedded'])
  const bare = await child<{ url: string }>('proxy-child.js', [direct, 'none'])
  const floor = await child<{ url: string }>('node-floor-child.js', [direct])
  const cpuOf = (proc: typeof recording.proc) => ask<Cpu>(proc, 'cpu')
  const idleEmbedded = await cpuOf(recording.proc)
  const idle = { embedded: idleEmbedded.rssBytes, embeddedAnon: idleEmbedded.anonBytes ?? Number.NaN, none: (await cpuOf(bare.proc)).rssBytes, nginx: await nginx.rssBytes() }
  console.log(`recording cost vs nginx ${process.env.BENCH_NGINX_WORKERS ?? 1} worker(s) with an access log: ${REPEATS} repeats of ${SECONDS} s; upstream, nginx and each proxy in their own processes\n`)
  for (const base of [direct, nginx.url, recording.ready.url, bare.ready.url, floor.ready.url]) await closedLoop(base, '/plain', 50)

  const m = { direct: [] as number[], nginxP99: [] as number[], recP99: [] as number[], bareP99: [] as number[], floorP99: [] as number[], nginxCpu: [] as number[], recCpu: [] as number[], bareCpu: [] as number[], floorCpu: [] as number[] }
  const sat = { nginx: [] as number[], rec: [] as number[] }
  const sse = { direct: [] as number[], nginx: [] as number[], rec: [] as number[] }
  for (let r = 0; r < REPEATS; r++) {
    const d = await fixedRate(direct, '/plain', RATE)
    m.direct.push(percentile(d.lat, 99))
    const n0 = await nginx.cpuSeconds()
    const n = await fixedRate(nginx.url, '/plain', RATE)
    await settle()
    m.nginxCpu.push(((await nginx.cpuSeconds()) - n0) / (n.sent / 1000))
    m.nginxP99.push(percentile(n.lat, 99) - percentile(d.lat, 99))
    for (const [proc, url, p99, cpu] of [[recording.proc, recording.ready.url, m.recP99, m.recCpu], [bare.proc, bare.ready.url, m.bareP99, m.bareCpu], [floor.proc, floor.ready.url, m.floorP99, m.floorCpu]] as const) {
      const c0 = await cpuOf(proc)
      const p = await fixedRate(url, '/plain', RATE)
      await settle() // the recording proxy's inserts of these rows count too
      const c1 = await cpuOf(proc)
      cpu.push((c1.cpuSeconds - c0.cpuSeconds) / (p.sent / 1000))
      p99.push(percentile(p.lat, 99) - percentile(d.lat, 99))
    }
    sat.nginx.push((await closedLoop(nginx.url, '/plain', 50)).rps)
    sat.rec.push((await closedLoop(recording.ready.url, '/plain', 50)).rps)
    await settle()
    sse.direct.push(percentile((await sseFirstEvent(direct, 1000)).lat, 99))
    sse.nginx.push(percentile((await sseFirstEvent(nginx.url, 1000)).lat, 99))
    sse.rec.push(percentile((await sseFirstEvent(recording.ready.url, 1000)).lat, 99))
    await settle()
  }

  const added = (xs: number[]) => xs
  const sseAdded = (xs: number[]) => xs.map((x, i) => x - (sse.direct[i] as number))
  const ratio = (a: number[], b: number[]) => median(a.map((x, i) => x / (b[i] as number)))
  const goal = (ok: boolean) => (ok ? '✓' : '✗')
  const nginxCpu = median(m.nginxCpu)
  const nginxP99 = median(m.nginxP99)
  console.log(`At a fixed ${RATE} requests/s: CPU per 1,000 requests (every thread of the process, ${SETTLE_MS / 1000} s after each run included) and p99 latency added over a direct call`)
  console.log(
    table(
      ['path', 'cpu-s/1k req', 'p99 added ms', '× nginx cpu'],
      [
        ['nginx + access log', spread(m.nginxCpu, 3), spread(added(m.nginxP99)), '1.00'],
        ['Node.js floor: node:http + undici, nothing else', spread(m.floorCpu, 3), spread(added(m.floorP99)), f(ratio(m.floorCpu, m.nginxCpu))],
        ['hopwatch, no recording', spread(m.bareCpu, 3), spread(added(m.bareP99)), f(ratio(m.bareCpu, m.nginxCpu))],
        ['hopwatch, recording (embedded)', spread(m.recCpu, 3), spread(added(m.recP99)), f(ratio(m.recCpu, m.nginxCpu))],
      ],
    ),
  )
  const sseNginx = median(sseAdded(sse.nginx))
  const rows = [
    ['cpu-s per 1k requests, recording', `≤ 2 × nginx (${f(2 * nginxCpu, 3)})`, f(median(m.recCpu), 3), goal(median(m.recCpu) <= 2 * nginxCpu)],
    ['p99 added at 1k req/s, recording', `≤ max(1 ms, 1.5 × nginx) (${f(Math.max(1, 1.5 * nginxP99))} ms)`, f(median(m.recP99)), goal(median(m.recP99) <= Math.max(1, 1.5 * nginxP99))],
    ['SSE first event, p99 added at 1,000 streams', `≤ 1.5 × nginx (${f(1.5 * Math.max(sseNginx, 0))} ms)`, f(median(sseAdded(sse.rec))), goal(median(sseAdded(sse.rec)) <= 1.5 * Math.max(sseNginx, 0))],
    ['saturation at 50 connections, recording', `≥ 0.5 × nginx (${f(0.5 * median(sat.nginx), 0)} rps)`, `${spread(sat.rec, 0)} rps`, goal(median(sat.rec) >= 0.5 * median(sat.nginx))],
    ['idle RSS, no store loaded (as on a server store)', '≤ 150 MB', `${f(idle.none / 1e6, 0)} MB`, goal(idle.none / 1e6 <= 150)],
    ['idle RSS, embedded store', '≤ 250 MB', `${f(idle.embedded / 1e6, 0)} MB (${f(idle.embeddedAnon / 1e6, 0)} MB anonymous, the rest mapped code)`, goal(idle.embedded / 1e6 <= 250)],
  ]
  console.log(`\nGoals (nginx: saturation ${spread(sat.nginx, 0)} rps, SSE p99 added ${spread(sseAdded(sse.nginx))} ms, idle RSS ${f(idle.nginx / 1e6, 0)} MB)`)
  console.log(table(['goal', 'target', 'measured (median)', ''], rows))

  const final = await cpuOf(recording.proc)
  const stopped = await ask<{ written: number; dropped: number }>(recording.proc, 'stop')
  console.log(`rows: ${final.hops} hops recorded, ${stopped.written} written, ${stopped.dropped} dropped${stopped.written === final.hops ? '' : '  ✗ rows written ≠ hops'}; nginx logged ${await nginx.logLines()} requests`)
  bare.proc.send('stop')
  floor.proc.send('stop')
  upstream.proc.send('stop')
  await nginx.stop()
  await rm(dir, { recursive: true, force: true })
}

await main()
