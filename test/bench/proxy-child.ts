// The proxy under benchmark, in its own process so its CPU time is its own: recording on, into the embedded store
// ('embedded') or a ClickHouse server ('server:<http url>'), off ('none'), or on with turn traces exported over
// OTLP/HTTP to a collector ('traces:<url>').
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { validateConfig } from '../../src/config/index.js'
import { ADAPTER_NAMES, startProxy } from '../../src/proxy/index.js'
import { hopEnded } from '../../src/events.js'
import { BatchWriter, ClickHouseSink, lowerEngineThreads, MemorySink, openStore, recordHops, Spill } from '../../src/store/index.js'
import { ProxyMetrics } from '../../src/telemetry/index.js'
import { Tracing } from '../../src/telemetry/tracing/index.js'

const target = process.argv[2] as string
const mode = process.argv[3] ?? 'embedded'
const recording = mode !== 'none'
const tracesTo = mode.startsWith('traces:') ? mode.slice('traces:'.length) : undefined
const dir = await mkdtemp(join(tmpdir(), 'hopwatch-bench-'))
const serverUrl = mode.startsWith('server:') ? mode.slice('server:'.length) : undefined
const store = !recording ? undefined : serverUrl !== undefined ? await openStore({ kind: 'server', url: serverUrl, user: 'default', password: '' }, 'hopwatch') : await openStore({ kind: 'embedded', dir }, 'hopwatch')
// as `hopwatch proxy` does with an embedded store
if (store !== undefined && serverUrl === undefined) lowerEngineThreads()
const spill = new Spill(join(dir, 'spill'), 1e9)
await spill.init()
const writer = new BatchWriter(store !== undefined ? new ClickHouseSink(store) : new MemorySink(), spill, { queueRows: 100_000, batchRows: Number(process.env.BENCH_BATCH_ROWS ?? 5_000), flushMs: Number(process.env.BENCH_FLUSH_MS ?? 1_000), retryMs: 1_000 })
let hopsSeen = 0
hopEnded.subscribe(() => hopsSeen++)
if (recording) {
  writer.start()
  recordHops(writer)
}
const clients = process.env.HOPWATCH_BENCH_CLIENTS !== undefined ? { clients: JSON.parse(process.env.HOPWATCH_BENCH_CLIENTS) as object } : {}
const config = validateConfig({ proxy: { port: 0, ...clients }, upstreams: [{ name: 'llm', component: 'llm', adapter: 'openai', target, prefix: '/u' }] }, 'bench', { adapters: ADAPTER_NAMES })
const proxy = await startProxy({ config, runId: 'bench' })
const tracing = tracesTo === undefined ? undefined : Tracing.start({ endpoint: tracesTo, max_queue: 8192, max_batch: 512, timeout_ms: 10_000 }, { version: 'bench' })
if (recording) new ProxyMetrics(() => proxy.upstreams.map((u) => ({ name: u.name, component: u.config.component, inFlight: u.inFlight })), () => writer.stats())
process.send?.({ url: `${proxy.url}/u` })

// sampled every 10 ms: a 1 ms timer would itself cost the proxy CPU the benchmark counts. Started only for a bench that
// reads it (the first 'loop-reset'): its 100 wakeups a second cost an idle process 0.8 % of a core, which the
// recording-cost bench would count against hopwatch and not against the Node.js floor or nginx
const loop = monitorEventLoopDelay({ resolution: 10 })
process.on('message', (m) => {
  if (m === 'loop-reset') {
    loop.enable()
    loop.reset()
  }
  if (m === 'loop') process.send?.({ p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6 })
  if (m === 'cpu') {
    const cpu = process.cpuUsage()
    // of the resident pages, those that are no file's: the rest are mapped code (Node's, and chDB's library) the kernel can drop and share
    const rollup = readFileSync('/proc/self/smaps_rollup', 'utf8')
    const anonBytes = Number(/^Anonymous:\s+(\d+)/m.exec(rollup)?.[1] ?? Number.NaN) * 1024
    process.send?.({ cpuSeconds: (cpu.user + cpu.system) / 1e6, hops: hopsSeen, rssBytes: process.memoryUsage().rss, anonBytes, spans: tracing?.counts() })
  }
  if (m === 'stop') {
    void (async () => {
      await proxy.close()
      const spans = await tracing?.stop()
      await writer.close()
      const stats = writer.stats().tables.hops
      process.send?.({ written: stats?.written ?? 0, dropped: stats === undefined ? 0 : Object.values(stats.dropped).reduce((a, b) => a + b, 0), spans })
      await store?.close()
      await rm(dir, { recursive: true, force: true })
      process.exit(0)
    })()
  }
})
