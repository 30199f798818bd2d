import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { resourceReport } from '../../src/analyze/resources.js'
import { trendOf } from '../../src/analyze/trend.js'
import { pidProbe, prometheusProbe, ResourceSampler, type ResourceSample, type TargetEvent } from '../../src/resources/index.js'
import { simulate } from '../support/sim.js'

const KIB = 1024

/**
 * Drives `rate` requests a second at the service: `warmUpS` first (a young Node process grows its heap for a while
 * under any load, so a soak watches it once it has settled), then `seconds` sampling its process every 100 ms, and
 * with it the service's own count of the bytes its leak retained (`leaked`), at the same moments.
 */
async function soak(leakBytes: number, seed: number, rate: number, seconds: number, warmUpS: number): Promise<{ samples: ResourceSample[] }> {
  const sim = await simulate({ seed, services: [{ name: 'api', kind: 'backend', process: 'separate', latency: { median_ms: 1 }, leak: { bytes_per_request: leakBytes } }] })
  const samples: ResourceSample[] = []
  const [service] = sim.services
  const probes = [pidProbe('api', service!.pid), prometheusProbe('leaked', `${service!.url}/metrics`, ['hopwatch_sim_leaked_bytes'], 5000)]
  const sampler = new ResourceSampler('soak', probes, 100, (row) => samples.push(row))
  const drive = async (forS: number) => {
    const started = performance.now()
    let sent = 0
    while (performance.now() - started < forS * 1000) {
      await Promise.all(Array.from({ length: rate / 10 }, async () => (await fetch(`${service!.url}/v1/orders/1`)).arrayBuffer()))
      sent += rate / 10
      const wait = started + (sent / rate) * 1000 - performance.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    }
  }
  try {
    await drive(warmUpS)
    sampler.start()
    await drive(seconds)
    await sampler.stop()
    return { samples }
  } finally {
    await sim.close()
  }
}

/** One sampled metric as points in seconds from its first sample. */
const points = (samples: ResourceSample[], metric = 'rss_bytes') => {
  const rss = samples.filter((s) => s.metric === metric)
  return rss.map((s) => ({ t: (s.at_us - rss[0]!.at_us) / 1e6, value: s.value }))
}

test('the sampler sees a planted leak grow its process\'s RSS, and the trend is rising within 25 % of the planted rate', async (t) => {
  const { samples } = await soak(64 * KIB, 1, 200, 8, 4)
  const trend = trendOf(points(samples), { windows: 16 })
  assert.equal(trend.verdict, 'rising')
  const measured = trend.slope_per_hour / 3600
  // the planted rate is what the service retained, judged the same way over the same moments: on a busy machine the
  // load stalls now and then, and a robust slope follows the pace between stalls, where an average over the whole
  // window would not (npm test once read 12,968 KiB/s of RSS against an average of 9,995 retained over the window)
  const planted = trendOf(points(samples, 'hopwatch_sim_leaked_bytes{service="api",kind="backend"}'), { windows: 16 }).slope_per_hour / 3600
  assert.ok(planted > 0, 'the service retained nothing')
  t.diagnostic(`RSS ${(measured / KIB).toFixed(0)} KiB/s, retained ${(planted / KIB).toFixed(0)} KiB/s`)
  assert.ok(Math.abs(measured - planted) <= 0.25 * planted, `measured ${(measured / KIB).toFixed(0)} KiB/s, planted ${(planted / KIB).toFixed(0)} KiB/s`)
  assert.ok(samples.some((s) => s.metric === 'open_fds' && s.value > 0) && samples.some((s) => s.metric === 'threads' && s.value > 0))
})

test('the same service without a leak is never called rising, for every seed, by the analyzer\'s own rules', async (t) => {
  // three seeds side by side, each its own service process at the leak test's rate, judged the way a soak is: the
  // first 10 % left out as warm-up and at least 120 s of samples (a shorter window cannot tell an allocator that is
  // still settling from a leak: 30 s once read 880 MB/h on a process that was not leaking). Its heap grows toward a
  // full collection for 80 s or more (here 87 → 112 MB, then 72 MB); where none came within the window (CI once:
  // 19 MB over 126 s, 540 MB/h, p 0.0004) the analyzer says it is too short to tell, never that it leaks
  const soaks = await Promise.all([1, 2, 3].map((seed) => soak(0, seed, 200, 140, 15)))
  soaks.forEach(({ samples }, i) => {
    const rss = points(samples)
    const t0_us = samples.find((s) => s.metric === 'rss_bytes')!.at_us
    const series = { target: `api-${i + 1}`, kind: 'process', metric: 'rss_bytes', t: rss.map((p) => p.t), low: rss.map((p) => p.value), high: rss.map((p) => p.value), t0_us }
    const [trend] = resourceReport([series], [{ step: 0, load: 200, start_us: t0_us, end_us: t0_us + 140e6 }]).trends
    t.diagnostic(`seed ${i + 1}: ${trend?.verdict}${trend?.too_short_because ? ` (${trend.too_short_because})` : ''}, ${((trend?.slope_per_hour ?? 0) / 2 ** 20).toFixed(1)} MB/h (p ${trend?.p.toPrecision(2)}) over ${trend?.span_s.toFixed(0)} s at ${((trend?.last ?? 0) / 2 ** 20).toFixed(0)} MB`)
    assert.ok(trend?.verdict === 'flat' || (trend?.verdict === 'too_short' && trend.too_short_because === 'no_gc_cycle'), `seed ${i + 1}: ${JSON.stringify(trend)}`)
  })
})

test('a sampled process that exits is reported once, and the others are still sampled', async () => {
  const short = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 300)'])
  const events: TargetEvent[] = []
  const rows: ResourceSample[] = []
  const sampler = new ResourceSampler('gone', [pidProbe('short', short.pid!), pidProbe('self', process.pid)], 50, (r) => rows.push(r), (e) => events.push(e))
  await sampler.sampleOnce()
  await new Promise((r) => short.once('exit', r))
  await sampler.sampleOnce()
  await sampler.sampleOnce()
  assert.deepEqual(events.map((e) => [e.target, e.state]), [['short', 'gone']])
  assert.deepEqual(sampler.targets, ['self'])
  assert.equal(rows.filter((r) => r.target === 'self' && r.metric === 'rss_bytes').length, 3)
})
