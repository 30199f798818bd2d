import assert from 'node:assert/strict'
import { test } from 'node:test'
import { bootstrapQuantileDifference, normalUpperTail, quantile, rankTest } from '../../src/analyze/stats.js'
import { Rng } from '../../src/sim/random.js'

const near = (a: number, b: number, eps: number) => Math.abs(a - b) <= eps

test('quantiles interpolate between order statistics as R\'s default does', () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5)
  assert.equal(quantile([10, 20, 30, 40, 50], 0.95), 48)
  assert.equal(quantile([7], 0.99), 7)
  assert.ok(Number.isNaN(quantile([], 0.5)))
})

test('the normal upper tail matches the table', () => {
  assert.ok(near(normalUpperTail(0), 0.5, 1e-7))
  assert.ok(near(normalUpperTail(1.6448536), 0.05, 1e-6))
  assert.ok(near(normalUpperTail(2.3263479), 0.01, 1e-6))
  assert.ok(near(normalUpperTail(-1.959964), 0.975, 1e-6))
})

test('the rank test counts U as the pairs where the later value is larger, and its p-value is the normal approximation\'s', () => {
  // by hand: each later value beats 3, 4, 5, 6, 7, 8, 8, 8 baseline values → U = 49; no ties, so
  // mean = 8·8/2 = 32, variance = 8·8·17/12, z = (49 − 32 − 0.5)/√90.67 = 1.7329, one-sided p = 0.04156
  const later = [4, 5, 6, 7, 8, 9, 10, 11]
  const baseline = [1, 2, 3, 4.5, 5.5, 6.5, 7.5, 8.5]
  const r = rankTest(baseline, later)
  assert.equal(r.u, 49)
  assert.ok(near(r.z, 1.7329, 1e-3), `z = ${r.z}`)
  assert.ok(near(r.p, 0.04156, 2e-4), `p = ${r.p}`)
  // ties share their mean rank: two equal samples give U = n1·n2/2 and no evidence of a shift
  const tied = rankTest([5, 5, 5], [5, 5, 5])
  assert.equal(tied.u, 4.5)
  assert.equal(tied.p, 0.5)
})

test('the rank test finds no shift between samples of one distribution, and a clear one when there is one', () => {
  const rng = new Rng(9, 'rank')
  const draw = (n: number, median: number) => Array.from({ length: n }, () => rng.latencyMs({ median_ms: median, p95_ms: median * 2 }))
  let falseAlarms = 0
  for (let i = 0; i < 200; i++) if (rankTest(draw(50, 300), draw(50, 300)).p < 0.01) falseAlarms++
  // at α = 0.01, 200 null trials give about 2 false alarms; 8 is past 4σ of a binomial(200, 0.01)
  assert.ok(falseAlarms <= 8, `${falseAlarms} false alarms`)
  assert.ok(rankTest(draw(50, 300), draw(50, 450)).p < 0.001)
})

test('the bootstrap interval of a p95 difference covers the true shift and excludes 0 when the shift is real', () => {
  const rng = new Rng(3, 'boot')
  const baseline = Array.from({ length: 400 }, () => rng.latencyMs({ median_ms: 200, p95_ms: 400 }))
  const later = baseline.map((v) => v + 150)
  const ci = bootstrapQuantileDifference(baseline, later, 0.95, new Rng(1, 'b'), { iterations: 500 })
  assert.ok(ci.low > 0 && ci.low <= 150 && ci.high >= 150, `[${ci.low.toFixed(1)}, ${ci.high.toFixed(1)}]`)
})
