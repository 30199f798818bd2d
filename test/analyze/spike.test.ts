import assert from 'node:assert/strict'
import { test } from 'node:test'
import { spikeFindings } from '../../src/analyze/spike.js'

const bucket = (i: number, p95: number, failed = 0) => ({ bucket: i, turns: 20, p95_ms: p95, failed })

test('recovery is the first slice after the spike from which latency and failures stay at baseline', () => {
  const f = spikeFindings({ baseline: { p95_ms: 800, turns: 100, failed: 1 }, spike: { hung_up: 0, errors: {} }, recovery: [bucket(0, 3000, 5), bucket(1, 1500), bucket(2, 900), bucket(3, 1100, 4), bucket(4, 850), bucket(5, 800), bucket(6, 790)], bucketS: 10 })
  // slice 3 fails again (4 of 20), so recovery counts from slice 4: 40 s after the spike
  assert.equal(f.recovery_s, 40)
  assert.equal(f.degraded, 'not at all')
})

test('a system still slow at the end of the run has not recovered', () => {
  const f = spikeFindings({ baseline: { p95_ms: 800, turns: 100, failed: 0 }, spike: { hung_up: 0, errors: {} }, recovery: [bucket(0, 3000), bucket(1, 2500)], bucketS: 10 })
  assert.equal(f.recovery_s, null)
})

test('a spike met with rejections degrades gracefully; one that drops the calls it had, catastrophically', () => {
  const graceful = spikeFindings({ baseline: { p95_ms: 800, turns: 10, failed: 0 }, spike: { hung_up: 2, errors: { llm_rate_limited: 40, backend_upstream_status_503: 5 } }, recovery: [], bucketS: 10 })
  assert.deepEqual([graceful.degraded, graceful.rejections, graceful.drops], ['gracefully', 45, 2])
})

test('only 429 and 503 are graceful: a spike answered with 500s (or 502, 504) fails the calls it took', () => {
  const failing = spikeFindings({ baseline: { p95_ms: 800, turns: 10, failed: 0 }, spike: { hung_up: 0, errors: { llm_upstream_status_500: 40, llm_upstream_status_502: 3, backend_upstream_status_504: 3, llm_rate_limited: 5 } }, recovery: [], bucketS: 10 })
  assert.deepEqual([failing.degraded, failing.rejections, failing.drops], ['catastrophically', 5, 46])
  const catastrophic = spikeFindings({ baseline: { p95_ms: 800, turns: 10, failed: 0 }, spike: { hung_up: 30, errors: { llm_reset: 10, llm_rate_limited: 3 } }, recovery: [], bucketS: 10 })
  assert.deepEqual([catastrophic.degraded, catastrophic.rejections, catastrophic.drops], ['catastrophically', 3, 40])
})
