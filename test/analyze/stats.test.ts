import assert from 'node:assert/strict'
import { test } from 'node:test'
import { clusterBootstrapDifference, clustersOf, holmAdjust, medianInterval, normalUpperTail, quantile, quantileInPlace, quantileStatistic, rankTest, serialInflation } from '../../src/analyze/stats.js'
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

test('selection gives the same type-7 quantile as sorting, for every q and size', () => {
  const rng = new Rng(4, 'select')
  for (const n of [1, 2, 3, 10, 99, 200, 1001]) {
    const values = Array.from({ length: n }, () => Math.round(rng.next() * 50))
    for (const q of [0, 0.05, 0.5, 0.9, 0.95, 0.99, 1]) assert.equal(quantileInPlace(Float64Array.from(values), n, q), quantile(values, q), `n ${n} q ${q}`)
  }
})

test('the cluster bootstrap\'s standard error of a p95 grows when the samples come in correlated clusters', () => {
  const rng = new Rng(3, 'boot')
  // 50 clusters of 8 identical values against 400 independent ones: the same spread, an eighth of the information
  const independent = Array.from({ length: 400 }, () => rng.latencyMs({ median_ms: 200, p95_ms: 400 }))
  const clustered = Array.from({ length: 50 }, () => rng.latencyMs({ median_ms: 200, p95_ms: 400 })).flatMap((v) => new Array<number>(8).fill(v))
  const keys = clustered.map((_, i) => Math.floor(i / 8))
  const p95 = quantileStatistic(0.95)
  const alone = clusterBootstrapDifference(clustersOf(independent), clustersOf(independent), p95, new Rng(1, 'a'), 400)
  const together = clusterBootstrapDifference(clustersOf(clustered, keys), clustersOf(clustered, keys), p95, new Rng(1, 'b'), 400)
  const naive = clusterBootstrapDifference(clustersOf(clustered), clustersOf(clustered), p95, new Rng(1, 'c'), 400)
  assert.ok(together.seLater > 1.8 * naive.seLater, `clustered ${together.seLater.toFixed(1)} vs resampled one by one ${naive.seLater.toFixed(1)}`)
  assert.ok(alone.seLater > 0 && alone.difference === 0)
})

test('the bootstrap difference of a shifted sample is the shift, and its standard error is the spread of each side', () => {
  const rng = new Rng(3, 'shift')
  const baseline = Array.from({ length: 400 }, () => rng.latencyMs({ median_ms: 200, p95_ms: 400 }))
  const later = baseline.map((v) => v + 150)
  const boot = clusterBootstrapDifference(clustersOf(baseline), clustersOf(later), quantileStatistic(0.95), new Rng(1, 'b'), 500)
  assert.ok(Math.abs(boot.difference - 150) < 1e-9)
  // a shift leaves the spread alone: both sides' standard errors agree within bootstrap noise
  assert.ok(Math.abs(boot.seLater / boot.seBaseline - 1) < 0.3, `${boot.seLater} vs ${boot.seBaseline}`)
})

test('Holm\'s adjustment multiplies the i-th smallest p by (m − i + 1), keeps the order, and caps at 1', () => {
  // by hand: sorted 0.01, 0.02, 0.03, 0.5 → 0.04, 0.06, 0.06 (monotone), 0.5
  assert.deepEqual(holmAdjust([0.03, 0.5, 0.01, 0.02]).map((p) => Number(p.toFixed(10))), [0.06, 0.5, 0.04, 0.06])
  assert.deepEqual(holmAdjust([0.4, 0.9]), [0.8, 0.9])
  assert.deepEqual(holmAdjust([Number.NaN, 0.01]), [1, 0.02])
})

test('serial inflation is 1 for independent samples and (1 + ρ)/(1 − ρ) for a series that runs in streaks', () => {
  const rng = new Rng(8, 'serial')
  const independent = Array.from({ length: 2000 }, () => rng.next())
  assert.ok(serialInflation(independent) < 1.2, String(serialInflation(independent)))
  // streaks of 10: above/below the median changes once per 10 values, ρ ≈ 0.9 → capped at 0.8 → 9
  const streaky = Array.from({ length: 2000 }, (_, i) => (Math.floor(i / 10) % 2) + rng.next() * 0.1)
  assert.ok(Math.abs(serialInflation(streaky) - 9) < 1e-9, String(serialInflation(streaky)))
})

test('the median\'s interval is the order statistics a binomial table gives, with their exact coverage', () => {
  // n = 15 at 95 %: x(4) to x(12), P(Binomial(15, ½) ≤ 3) = 576 / 32768 on each side
  const fifteen = [9, 3, 14, 1, 7, 12, 5, 15, 2, 11, 8, 4, 13, 6, 10]
  assert.deepEqual(medianInterval(fifteen), { median: 8, low: 4, high: 12, coverage: 1 - (2 * 576) / 32768 })
  // n = 5 cannot reach 95 %: the widest interval, with the coverage it has
  assert.deepEqual(medianInterval([5, 1, 4, 2, 3]), { median: 3, low: 1, high: 5, coverage: 1 - 2 / 32 })
  // a lower confidence narrows it: n = 15 at 80 %, P(X ≤ 4) = 1941 / 32768 ≤ 0.1 < P(X ≤ 5)
  assert.deepEqual(medianInterval(fifteen, 0.8), { median: 8, low: 5, high: 11, coverage: 1 - (2 * 1941) / 32768 })
})

test('the median\'s interval holds the true median as often as it says, on a skewed distribution', () => {
  const rng = new Rng(5, 'median-interval')
  const trueMedian = Math.LN2 // of an exponential with rate 1
  for (const n of [9, 15, 40]) {
    let held = 0
    const trials = 4000
    let coverage = 0
    for (let i = 0; i < trials; i++) {
      const r = medianInterval(Array.from({ length: n }, () => -Math.log(1 - rng.next())))
      coverage = r.coverage
      if (r.low <= trueMedian && trueMedian <= r.high) held++
    }
    assert.ok(coverage >= 0.95, `n ${n}: coverage ${coverage}`)
    // the binomial's own sampling error over 4,000 trials is under 0.004
    assert.ok(Math.abs(held / trials - coverage) < 0.015, `n ${n}: held ${held / trials} against ${coverage}`)
  }
})
