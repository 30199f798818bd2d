/**
 * npm run bench: direct to an upstream vs through the proxy (recording on, embedded store), in the same run.
 * Prints added latency (p50, p99), the throughput ratio at saturation, SSE time-to-first-event, and the proxy
 * process's CPU seconds per 1,000 requests. The machine is shared and noisy: read the ratios and differences.
 */
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { table } from '../../src/cli/output.js'
import { OtlpReceiver } from '../../src/telemetry/otlp/index.js'
import type { SpanCounts } from '../../src/telemetry/tracing/index.js'
import { ask, child, closedLoop, f, fixedRate, percentile, SECONDS, sseFirstEvent } from './load.js'


async function main(): Promise<void> {
  const upstream = await child<{ port: number }>('upstream-child.js', [])
  const direct = `http://127.0.0.1:${upstream.ready.port}`
  const proxy = await child<{ url: string }>('proxy-child.js', [direct, 'embedded'])
  const bare = await child<{ url: string }>('proxy-child.js', [direct, 'none'])
  // a collector for the traced proxy: hopwatch's own OTLP receiver, in this process, counting what arrives
  let collected = 0
  const receiver = new OtlpReceiver({ maxBodyBytes: 64 * 2 ** 20, accept: (spans) => void (collected += spans.length) })
  const collector = createServer((req, res) => receiver.handle(req, res))
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r))
  const traced = await child<{ url: string }>('proxy-child.js', [direct, `traces:http://127.0.0.1:${(collector.address() as AddressInfo).port}`])
  const via = proxy.ready.url
  const cpu = () => ask<{ cpuSeconds: number; hops: number; rssBytes: number }>(proxy.proc, 'cpu')
  const bareCpu = () => ask<{ cpuSeconds: number; hops: number; rssBytes: number }>(bare.proc, 'cpu')
  console.log(`hopwatch proxy benchmark: ${SECONDS} s per measurement; upstream and proxies in their own processes; "proxy" records every hop into the embedded store, "no-rec" forwards only\n`)

  // warm up both paths (JIT, connection pools)
  await closedLoop(direct, '/plain', 50)
  await closedLoop(via, '/plain', 50)
  await closedLoop(bare.ready.url, '/plain', 50)
  await closedLoop(traced.ready.url, '/plain', 50)
  await sseFirstEvent(direct, 50)
  await sseFirstEvent(via, 50)

  const rows: string[][] = []
  for (const concurrency of [50, 500, 1000]) {
    const d = await closedLoop(direct, '/plain', concurrency)
    const before = await cpu()
    const p = await closedLoop(via, '/plain', concurrency)
    const after = await cpu()
    rows.push([
      String(concurrency), f(d.rps, 0), f(p.rps, 0), f(p.rps / d.rps), f(percentile(d.lat, 50)), f(percentile(p.lat, 50)), f(percentile(d.lat, 99)), f(percentile(p.lat, 99)),
      f(((after.cpuSeconds - before.cpuSeconds) / Math.max(1, after.hops - before.hops)) * 1000, 3), String(d.errors + p.errors),
    ])
  }
  console.log('Plain requests, closed loop (saturation): throughput and latency, direct vs through the proxy')
  console.log(table(['conns', 'direct rps', 'proxy rps', 'ratio', 'p50 direct ms', 'p50 proxy ms', 'p99 direct ms', 'p99 proxy ms', 'proxy cpu-s/1k req', 'errors'], rows))

  const rate = Number(process.env.BENCH_RATE ?? 1000)
  await new Promise((r) => setTimeout(r, 3000)) // let the recording proxy finish writing the saturation runs' rows
  const dr = await fixedRate(direct, '/plain', rate)
  const loopOf = async (proc: ChildProcess) => ask<{ p99Ms: number; maxMs: number }>(proc, 'loop')
  const bareBefore = await bareCpu()
  bare.proc.send('loop-reset')
  const nr = await fixedRate(bare.ready.url, '/plain', rate)
  const bareLoop = await loopOf(bare.proc)
  const bareAfter = await bareCpu()
  const before = await cpu()
  proxy.proc.send('loop-reset')
  const pr = await fixedRate(via, '/plain', rate)
  const proxyLoop = await loopOf(proxy.proc)
  const tracedCpu = () => ask<{ cpuSeconds: number; spans: SpanCounts }>(traced.proc, 'cpu')
  // traces are built after a turn goes idle (5 s without callers) and exported in the background: both recording
  // proxies are given the same 7 s after their run, so each one's deferred work (store inserts, span export) counts
  const settle = () => new Promise((r) => setTimeout(r, 7000))
  await settle()
  const recordingSettled = await cpu()
  const tracedBefore = await tracedCpu()
  traced.proc.send('loop-reset')
  const tr = await fixedRate(traced.ready.url, '/plain', rate)
  const tracedLoop = await loopOf(traced.proc)
  await settle()
  const tracedAfter = await tracedCpu()
  const per1k = (a: { cpuSeconds: number }, b: { cpuSeconds: number }, requests: number) => ((b.cpuSeconds - a.cpuSeconds) / Math.max(1, requests)) * 1000
  const row = (name: string, r: { sent: number; lat: Float64Array; errors: number }, cpuPer1k: string) => [
    name, String(r.sent), f(percentile(r.lat, 50)), f(percentile(r.lat, 99)), f(percentile(r.lat, 50) - percentile(dr.lat, 50)), f(percentile(r.lat, 99) - percentile(dr.lat, 99)), cpuPer1k, String(r.errors),
  ]
  console.log(`Plain requests at a fixed ${rate} requests/s (below saturation): latency added and CPU (goal: < 1 ms added at p99, < 0.2 CPU-s per 1k requests; Envoy as an Istio sidecar: 0.35)`)
  console.log(
    table(
      ['path', 'sent', 'p50 ms', 'p99 ms', 'p50 added', 'p99 added', 'cpu-s/1k req', 'errors'],
      [row('direct', dr, ''), row('no-rec', nr, f(per1k(bareBefore, bareAfter, nr.sent), 3)), row('proxy', pr, f(per1k(before, recordingSettled, pr.sent), 3)), row('proxy+traces', tr, f(per1k(tracedBefore, tracedAfter, tr.sent), 3))],
    ),
  )
  console.log(`event-loop delay in the proxy process: no-rec p99 ${f(bareLoop.p99Ms)} ms, max ${f(bareLoop.maxMs)} ms; recording p99 ${f(proxyLoop.p99Ms)} ms, max ${f(proxyLoop.maxMs)} ms; recording+traces p99 ${f(tracedLoop.p99Ms)} ms, max ${f(tracedLoop.maxMs)} ms`)
  console.log(`turn traces (one turn span and one hop span per untagged request, CPU counted 7 s past the run for both): CPU ratio proxy+traces / proxy ${f(per1k(tracedBefore, tracedAfter, tr.sent) / per1k(before, recordingSettled, pr.sent))}; spans so far ${JSON.stringify(tracedAfter.spans)}\n`)

  const sseRows: string[][] = []
  for (const streams of [50, 500, 1000]) {
    const ds = await sseFirstEvent(direct, streams)
    const ps = await sseFirstEvent(via, streams)
    sseRows.push([String(streams), String(ds.lat.length), f(percentile(ds.lat, 50)), f(percentile(ps.lat, 50)), f(percentile(ds.lat, 99)), f(percentile(ps.lat, 99)), f(percentile(ps.lat, 99) - percentile(ds.lat, 99)), String(ds.errors + ps.errors)])
  }
  console.log('SSE streams open at once: time to first event (the upstream sends it after 20 ms)')
  console.log(table(['streams', 'samples', 'p50 direct ms', 'p50 proxy ms', 'p99 direct ms', 'p99 proxy ms', 'p99 added ms', 'errors'], sseRows))

  const final = await cpu()
  const stopped = await ask<{ written: number; dropped: number }>(proxy.proc, 'stop')
  console.log(`recording: ${final.hops} hops recorded, ${stopped.written} written to the store, ${stopped.dropped} dropped; proxy RSS ${f(final.rssBytes / 2 ** 20, 0)} MiB`)
  const tracedStopped = await ask<{ spans: SpanCounts }>(traced.proc, 'stop')
  console.log(`turn traces: ${tracedStopped.spans.exported} spans exported, ${tracedStopped.spans.failed} failed, ${tracedStopped.spans.dropped} dropped; ${collected} arrived at the collector`)
  collector.close()
  bare.proc.send('stop')
  upstream.proc.send('stop')
}

await main()
