import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mannKendall, theilSen, trendOf, type Point } from '../../src/analyze/trend.js'
import { Rng } from '../../src/sim/random.js'

const MB = 1024 * 1024

/** An RSS series sampled every 10 s for `hours`: base + leak, a GC sawtooth of `sawMb` every 5 min, and noise. */
function rss(hours: number, leakMbPerHour: number, seed: number, sawMb = 80, noiseMb = 10): Point[] {
  const rng = new Rng(seed, 'rss')
  const points: Point[] = []
  for (let t = 0; t <= hours * 3600; t += 10) {
    const saw = ((t % 300) / 300) * sawMb
    points.push({ t, value: (400 + (leakMbPerHour * t) / 3600 + saw + rng.normal() * noiseMb) * MB })
  }
  return points
}

test('Theil–Sen finds the slope of a line through outliers, and Mann–Kendall counts concordant pairs', () => {
  const points = Array.from({ length: 20 }, (_, i) => ({ t: i, value: 3 * i + 1 }))
  points[5] = { t: 5, value: 1000 }
  assert.equal(theilSen(points).slope, 3)
  assert.equal(mannKendall([1, 2, 3, 4, 5]).s, 10)
  assert.ok(mannKendall([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).p < 0.001)
  assert.equal(mannKendall([5, 5, 5, 5]).p, 1)
})

test('a 50 MB/h leak under a GC sawtooth and noise is rising, at 50 MB/h within its interval', () => {
  const trend = trendOf(rss(4, 50, 1), { limit: 2048 * MB })
  assert.equal(trend.verdict, 'rising')
  const perHour = trend.slope_per_hour / MB
  assert.ok(Math.abs(perHour - 50) < 5, `${perHour.toFixed(1)} MB/h`)
  assert.ok(trend.ci_per_hour[0] / MB <= 50 && trend.ci_per_hour[1] / MB >= 50 - 5)
  // from ~600 MB at the end of hour 4, 2 GiB is about 29 hours away at 50 MB/h
  assert.ok(trend.hours_to_limit !== null && Math.abs(trend.hours_to_limit - (2048 - 400 - 200) / 50) < 3, `${trend.hours_to_limit} h`)
})

test('flat-but-noisy memory with a sawtooth is flat for every seed', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const trend = trendOf(rss(4, 0, seed))
    assert.equal(trend.verdict, 'flat', `seed ${seed}: ${(trend.slope_per_hour / MB).toFixed(2)} MB/h, p ${trend.p}`)
    assert.equal(trend.hours_to_limit, null)
  }
})

test('a tall GC sawtooth alone (300 MB climbs every 5 minutes) is flat', () => {
  // the envelope takes each window's floor: the climbs between collections never reach it
  const trend = trendOf(rss(1, 0, 3, 300, 2), { windows: 12 })
  assert.equal(trend.verdict, 'flat')
})

test('an allocator settling 2 % over a short soak is flat, though significant; a fall ten times as deep is not', () => {
  const settle = (drop: number) => Array.from({ length: 300 }, (_, i) => ({ t: i * 0.1, value: (106 - (drop * i) / 300) * 1024 * 1024 }))
  const small = trendOf(settle(2))
  assert.ok(small.p < 0.01 && small.ci_per_hour[1] < 0, 'the fall is significant')
  assert.equal(small.verdict, 'flat', 'but too small to be a trend')
  assert.equal(trendOf(settle(20)).verdict, 'falling')
})

test('latency creep is the trend of the median per window: a queue that builds is rising, a noisy steady one is flat', () => {
  const rng = new Rng(5, 'latency')
  const creeping = Array.from({ length: 2000 }, (_, i) => ({ t: i * 5, value: 800 + i * 0.2 + rng.next() * 400 }))
  const steady = Array.from({ length: 2000 }, (_, i) => ({ t: i * 5, value: 800 + rng.next() * 400 }))
  const c = trendOf(creeping, { envelope: 'median' })
  assert.equal(c.verdict, 'rising')
  // 0.2 ms per 5 s = 144 ms/h
  assert.ok(Math.abs(c.slope_per_hour - 144) < 20, String(c.slope_per_hour))
  assert.equal(trendOf(steady, { envelope: 'median' }).verdict, 'flat')
})

