/**
 * The proxied traffic's latency while the proxy's OTLP receiver is flooded (issue 14, reliability): a fixed rate of
 * proxied requests, alone and beside a flooder process (many spans, huge attributes, deep nesting, gzip bombs,
 * malformed bodies), alternated REPEATS times, with the receiver's default per-source limits and with them lifted
 * (every body parsed and stored). Ratios against the no-flood phases of the same run.
 * `node dist/test/bench/otlp-flood.bench.js`.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { table } from '../../src/cli/output.js'
import { child, fixedRate, median, percentile, SECONDS } from './load.js'

const RATE = Number(process.env.BENCH_RATE ?? 200)
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3)
const BIN = fileURLToPath(new URL('../../../bin/hopwatch.js', import.meta.url))

const upstream = await child<{ port: number }>('upstream-child.js', [])
const rssMb = async (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

const rows: string[][] = []
const floods: string[] = []
for (const [mode, receiver] of [
  ['default limits', ''],
  ['limits lifted', ', max_requests_per_s: 100000, max_bytes_per_s: 1000000000'],
] as const) {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-otlp-flood-'))
  await writeFile(
    join(dir, 'hopwatch.yaml'),
    `proxy: { port: 0 }\nstore: { dir: ./data }\nalerts: { sinks: { log: false } }\nresources: { self: false }\ntelemetry: { receiver: { enabled: true${receiver} } }\nupstreams:\n  - { name: api, component: backend, target: "http://127.0.0.1:${upstream.ready.port}", prefix: /u }\n`,
  )
  const proxy = spawn(process.execPath, [BIN, 'proxy'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proxy.stdout.on('data', (d: Buffer) => (out += d.toString()))
  proxy.stderr.on('data', (d: Buffer) => (out += d.toString()))
  for (const end = Date.now() + 60_000; !/listening on (\S+)/.test(out) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20))
  const base = /listening on (\S+)/.exec(out)?.[1]
  if (base === undefined) throw new Error(`the proxy did not start:\n${out}`)
  const p99 = { calm: [] as number[], flood: [] as number[] }
  const p50 = { calm: [] as number[], flood: [] as number[] }
  let errors = 0
  let rssPeak = 0
  let calmRssPeak = 0
  for (let r = 0; r < REPEATS; r++) {
    const calmSampling = setInterval(() => void rssMb(proxy.pid as number).then((mb) => (calmRssPeak = Math.max(calmRssPeak, mb))), 250)
    const calm = await fixedRate(`${base}/u`, '/plain', RATE)
    clearInterval(calmSampling)
    p99.calm.push(percentile(calm.lat, 0.99))
    p50.calm.push(percentile(calm.lat, 0.5))
    errors += calm.errors
    const flooder = await child<{ ready: boolean }>('otlp-flooder-child.js', [`${base}/v1/traces`])
    const done = new Promise<{ sent: number; counts: Record<string, number> }>((resolve) => flooder.proc.on('message', (m) => resolve(m as never)))
    const sampling = setInterval(() => void rssMb(proxy.pid as number).then((mb) => (rssPeak = Math.max(rssPeak, mb))), 250)
    const flooded = await fixedRate(`${base}/u`, '/plain', RATE)
    clearInterval(sampling)
    flooder.proc.send('stop')
    const result = await done
    flooder.proc.kill()
    p99.flood.push(percentile(flooded.lat, 0.99))
    p50.flood.push(percentile(flooded.lat, 0.5))
    errors += flooded.errors
    floods.push(`${mode}, repeat ${r + 1}: ${result.sent} flood requests; ${Object.entries(result.counts).map(([k, n]) => `${k} ×${n}`).join('; ')}`)
  }
  const stats = await fetch(`${base}/metrics`).then((res) => res.text())
  proxy.kill('SIGTERM')
  await new Promise((r) => proxy.once('exit', r))
  const spansStored = /hopwatch_store_rows_total\{table="spans",outcome="written"\} (\d+)/.exec(stats)?.[1] ?? '?'
  rows.push([
    mode,
    `${median(p50.calm).toFixed(2)} / ${median(p99.calm).toFixed(2)}`,
    `${median(p50.flood).toFixed(2)} / ${median(p99.flood).toFixed(2)}`,
    `${(median(p99.flood) / median(p99.calm)).toFixed(2)}× (${Math.min(...p99.flood).toFixed(1)}–${Math.max(...p99.flood).toFixed(1)} ms)`,
    String(errors),
    `${calmRssPeak.toFixed(0)} / ${rssPeak.toFixed(0)}`,
    spansStored,
  ])
  await rm(dir, { recursive: true, force: true })
}
upstream.proc.kill()
console.log(`proxied GET at ${RATE}/s for ${SECONDS} s, alone (calm) and while a second process floods /v1/traces (8 at a time), ${REPEATS} times each; medians`)
console.log(table(['receiver', 'calm p50 / p99 ms', 'flood p50 / p99 ms', 'flood p99 ÷ calm p99 (flood range)', 'proxied errors', 'proxy peak RSS MB calm / flood', 'spans stored'], rows))
for (const line of floods) console.log(line)
