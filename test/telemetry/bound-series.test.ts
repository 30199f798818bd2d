import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Counter, Histogram, Registry } from 'prom-client'
import { BoundCounter, BoundHistogram } from '../../src/telemetry/bound-series.js'

/** Exposition lines as series → value, label order ignored (Prometheus reads labels as a set). */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line)
    assert.ok(m, `an exposition line: ${line}`)
    const labels = (m[2] ?? '').split(/,(?=[a-z_]+=")/).filter(Boolean).sort().join(',')
    out.set(`${m[1]}{${labels}}`, Number(m[3]))
  }
  return out
}

const BUCKETS = [0.005, 0.05, 0.5, 1, 10]
// on a bound, between bounds, below the first, above the last, and negative
const OBSERVED: Array<[string, string, number]> = [
  ['llm', 'llm', 0.005], ['llm', 'llm', 0.2], ['llm', 'llm', 0.0001], ['llm', 'llm', 42], ['llm', 'llm', -1],
  ['tts', 'tts', 1], ['tts', 'tts', 0.7], ['llm', 'llm', 0.2],
]

test('a bound histogram exposes the same buckets, sums and counts as prom-client\'s own for the same observations', async () => {
  const ours = new Registry()
  const theirs = new Registry()
  const bound = new BoundHistogram({ name: 'h_seconds', help: 'h', labelNames: ['upstream', 'component'], buckets: BUCKETS, registry: ours })
  const reference = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['upstream', 'component'], buckets: BUCKETS, registers: [theirs] })
  for (const [upstream, component, value] of OBSERVED) {
    bound.labels({ upstream, component }).observe(value)
    reference.observe({ upstream, component }, value)
  }
  const got = series(await ours.metrics())
  assert.deepEqual(got, series(await theirs.metrics()))
  assert.equal(got.get('h_seconds_bucket{component="llm",le="0.005",upstream="llm"}'), 3, 'a value on a bound is in its bucket')
  assert.equal(got.get('h_seconds_bucket{component="llm",le="+Inf",upstream="llm"}'), 6, 'every llm observation, 42 included')
})

test('a bound counter exposes the same series as prom-client\'s own, and a series bound twice is one series', async () => {
  const ours = new Registry()
  const theirs = new Registry()
  const bound = new BoundCounter({ name: 'hops_total', help: 'c', labelNames: ['upstream', 'status_class'], registry: ours })
  const reference = new Counter({ name: 'hops_total', help: 'c', labelNames: ['upstream', 'status_class'], registers: [theirs] })
  const ok = bound.labels({ upstream: 'llm', status_class: '2xx' })
  ok.inc()
  bound.labels({ upstream: 'llm', status_class: '2xx' }).inc(2)
  bound.labels({ upstream: 'tts', status_class: '5xx' }).inc()
  reference.inc({ upstream: 'llm', status_class: '2xx' }, 3)
  reference.inc({ upstream: 'tts', status_class: '5xx' })
  const got = series(await ours.metrics())
  assert.deepEqual(got, series(await theirs.metrics()))
  assert.equal(got.get('hops_total{status_class="2xx",upstream="llm"}'), 3)
})
