import assert from 'node:assert/strict'
import { test } from 'node:test'
import { describeTrend, resourceReport, type SampledSeries } from '../../src/analyze/index.js'

const MB = 1024 * 1024
const T0 = 1_764_000_000_000_000

/** A series sampled every 10 s for an hour. */
function series(target: string, metric: string, value: (t: number) => number, kind = 'process'): SampledSeries {
  const t = Array.from({ length: 361 }, (_, i) => i * 10)
  return { target, kind, metric, t, low: t.map(value), high: t.map(value), t0_us: T0 }
}

const steps = [0, 1, 2, 3].map((i) => ({ step: i, load: 10 * (i + 1), start_us: T0 + i * 900e6, end_us: T0 + (i + 1) * 900e6 }))

test('a leaking target is rising at its rate with the time to its limit; a sawtooth beside it is flat', () => {
  const report = resourceReport(
    [
      series('agent', 'rss_bytes', (t) => 500 * MB + (t / 3600) * 60 * MB + ((t % 120) / 120) * 40 * MB),
      series('agent', 'memory_limit_bytes', () => 1024 * MB),
      series('agent', 'open_fds', (t) => 40 + Math.floor(t / 60)),
      series('agent', 'threads', () => 11),
      series('steady', 'rss_bytes', (t) => 300 * MB + ((t % 120) / 120) * 40 * MB),
    ],
    steps,
  )
  const memory = report.trends.find((t) => t.target === 'agent' && t.metric === 'rss_bytes')
  assert.equal(memory?.verdict, 'rising')
  assert.ok(Math.abs((memory?.slope_per_hour ?? 0) / MB - 60) < 3, `${(memory?.slope_per_hour ?? 0) / MB} MB/h`)
  // 1024 MB limit, envelope near 560 MB at the end: (1024 − 560) / 60 ≈ 7.7 h
  assert.ok(Math.abs((memory?.hours_to_limit ?? 0) - 7.7) < 0.5, String(memory?.hours_to_limit))
  assert.match(describeTrend(memory!), /^rising 60\.\d MB\/h \(95 % CI .*\), at its 1024 MB limit in 7\.\d h$/)
  assert.equal(report.trends.find((t) => t.target === 'agent' && t.metric === 'open_fds')?.verdict, 'rising')
  assert.equal(report.trends.find((t) => t.target === 'agent' && t.metric === 'threads')?.verdict, 'flat')
  assert.equal(report.trends.find((t) => t.target === 'steady')?.verdict, 'flat')
})

test('the headroom rules flag CPU above 85 % of the cores and memory above 80 % of the limit, at the steps where they happen', () => {
  // CPU used: 0.5, 1.0, 1.5, 1.9 cores over the four steps of 900 s
  const rates = [0.5, 1.0, 1.5, 1.9]
  const cpu = (t: number) => {
    let used = 0
    for (let i = 0; i < 4; i++) used += Math.max(0, Math.min(t, (i + 1) * 900) - i * 900) * (rates[i] as number)
    return used
  }
  const report = resourceReport(
    [
      series('model', 'cpu_seconds', cpu),
      series('model', 'cpu_limit_cores', () => 2),
      series('model', 'memory_bytes', (t) => (t < 2700 ? 700 : 900) * MB, 'cgroup'),
      series('model', 'memory_limit_bytes', () => 1024 * MB, 'cgroup'),
    ],
    steps,
  )
  assert.deepEqual(report.saturation.map((s) => [s.step, s.resource, Number(s.share.toFixed(2))]), [[3, 'cpu', 0.95], [2, 'memory', 0.88], [3, 'memory', 0.88]].sort((a, b) => (a[0] as number) - (b[0] as number) || String(a[1]).localeCompare(String(b[1]))))
  assert.ok(Math.abs((report.cpu[0]?.peak_cores ?? 0) - 1.9) < 0.01)
})

test('a target that could not be read at some samples is reported', () => {
  const report = resourceReport([series('vllm', 'up', (t) => (t > 1000 && t < 1100 ? 0 : 1), 'prometheus')], [])
  assert.deepEqual(report.unreadable, [{ target: 'vllm', samples: 9 }])
})

test('a minute of samples is too short for a trend, however steep: a young process grows while it warms up', () => {
  const t = Array.from({ length: 61 }, (_, i) => i)
  const young = { target: 'hopwatch', kind: 'process', metric: 'rss_bytes', t, low: t.map((x) => (150 + x) * MB), high: t.map((x) => (150 + x) * MB), t0_us: T0 }
  const [trend] = resourceReport([young], []).trends
  assert.equal(trend?.verdict, 'too_short')
  assert.match(describeTrend(trend!), /too short for a trend \(54 s of samples after the warm-up; 120 s needed\)/)
})

/** Memory sampled every second for `seconds`: `value` of the seconds since the first sample, ±0.2 MB of noise. */
function memory(seconds: number, value: (t: number) => number): SampledSeries {
  const t = Array.from({ length: seconds + 1 }, (_, i) => i)
  const noise = (i: number) => ((i * 7919) % 11) / 10 - 0.5
  const v = t.map((x, i) => value(x) + noise(i) * 0.4 * MB)
  return { target: 'api', kind: 'process', metric: 'rss_bytes', t, low: v, high: v, t0_us: T0 }
}

test('memory that only rose for two minutes, never falling back, is too short to tell from a heap growing toward its next collection', () => {
  // CI's no-leak control (a Node service at 200 requests a second, no leak): 540 MB/h, p 0.0004, 19 MB over 126 s at
  // 95–112 MB; here its heap rose 25 MB over 80 s before a full collection brought it back to 72 MB
  const heap = memory(140, (t) => 93 * MB + (t / 3600) * 540 * MB)
  const [trend] = resourceReport([heap], []).trends
  assert.equal(trend?.verdict, 'too_short', JSON.stringify(trend))
  assert.equal(trend?.too_short_because, 'no_gc_cycle')
  assert.match(describeTrend(trend!), /^too short for a trend \(rose 1\d\.\d MB over 126 s, falling back fewer than twice: .* over 600 s, or it doubles\)$/)
})

test('memory that fell back once, early, then rose for two minutes is still too short: one floor is not a trend of floors', () => {
  const heap = memory(140, (t) => (t < 20 ? 110 + t * 0.15 : 90 + (t - 20) * 0.15) * MB)
  const [trend] = resourceReport([heap], []).trends
  assert.equal(trend?.verdict, 'too_short', JSON.stringify(trend))
})

test('memory whose floors rise from one collection to the next within two minutes is rising', () => {
  // a 30 s sawtooth of 20 MB whose floor rises 30 MB a minute: four fall-backs, floors 80, 95, 110, 125 MB
  const leak = memory(140, (t) => (80 + (t / 60) * 30 + ((t % 30) / 30) * 20) * MB)
  const [trend] = resourceReport([leak], []).trends
  assert.equal(trend?.verdict, 'rising', JSON.stringify(trend))
})

test('the same rise with a fall-back in it is judged as a trend: flat when the collection brings it back', () => {
  const sawtooth = memory(140, (t) => (t < 90 ? 87 + t * 0.3 : 72 + (t - 90) * 0.3) * MB)
  const [trend] = resourceReport([sawtooth], []).trends
  assert.equal(trend?.verdict, 'flat', JSON.stringify(trend))
})

test('memory that more than doubles in two minutes is rising, fallen back or not: no collection explains that', () => {
  // the planted-leak test's service: 64 KiB a request at 200 a second
  const leak = memory(140, (t) => 90 * MB + t * 12.5 * MB)
  const [trend] = resourceReport([leak], []).trends
  assert.equal(trend?.verdict, 'rising', JSON.stringify(trend))
})

test('memory that only rises for ten minutes is rising: a collected heap falls back well within that', () => {
  // a process without a collector (or one whose heap never shrinks) leaking 180 MB/h
  const leak = memory(700, (t) => 400 * MB + (t / 3600) * 180 * MB)
  const [trend] = resourceReport([leak], []).trends
  assert.equal(trend?.verdict, 'rising', JSON.stringify(trend))
})
