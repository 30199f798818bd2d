/**
 * Statistics the analyzer needs, as plain functions over numbers (no I/O), each tested on data whose answer is known.
 */
import { quantileSorted } from '../percentile.js'
import type { Rng } from '../sim/random.js'

export { quantileSorted }

export function quantile(values: readonly number[], q: number): number {
  return quantileSorted([...values].sort((a, b) => a - b), q)
}

/** Standard normal upper tail P(Z > z), from the complementary error function (Abramowitz & Stegun 7.1.26, |ε| < 1.5e-7). */
export function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2
  const t = 1 / (1 + 0.3275911 * x)
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x)
  return z >= 0 ? erfc / 2 : 1 - erfc / 2
}

export interface RankTest {
  /** Mann–Whitney U of `later` against `baseline` */
  u: number
  /** the normal approximation's z, with the tie correction */
  z: number
  /** one-sided p-value for "later tends to be larger than baseline" */
  p: number
}

/**
 * Mann–Whitney U (Wilcoxon rank-sum) test that `later` is stochastically larger than `baseline`, by the normal
 * approximation with tie correction and continuity correction: sound from about 8 values a side.
 */
export function rankTest(baseline: readonly number[], later: readonly number[]): RankTest {
  const n1 = baseline.length
  const n2 = later.length
  if (n1 === 0 || n2 === 0) return { u: Number.NaN, z: Number.NaN, p: Number.NaN }
  const all = [...baseline.map((v) => ({ v, later: false })), ...later.map((v) => ({ v, later: true }))].sort((a, b) => a.v - b.v)
  let rankSumLater = 0
  let tieTerm = 0
  for (let i = 0; i < all.length; ) {
    let j = i
    while (j + 1 < all.length && (all[j + 1] as { v: number }).v === (all[i] as { v: number }).v) j++
    const rank = (i + j) / 2 + 1
    const ties = j - i + 1
    tieTerm += ties ** 3 - ties
    for (let k = i; k <= j; k++) if ((all[k] as { later: boolean }).later) rankSumLater += rank
    i = j + 1
  }
  const u = rankSumLater - (n2 * (n2 + 1)) / 2
  const mean = (n1 * n2) / 2
  const n = n1 + n2
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)))
  if (variance <= 0) return { u, z: 0, p: 0.5 }
  const z = (u - mean - 0.5) / Math.sqrt(variance)
  return { u, z, p: normalUpperTail(z) }
}

export interface MedianInterval {
  median: number
  /** order statistics x(k) and x(n + 1 − k) of the values: the median lies between them with probability `coverage` */
  low: number
  high: number
  /**
   * the interval's exact coverage for any continuous distribution: at least the confidence asked for, unless n is too
   * small to reach it (then the widest, min to max)
   */
  coverage: number
}

/**
 * A distribution-free confidence interval for the median of what `values` were drawn from, independently (Conover,
 * Practical Nonparametric Statistics, §3.2): the widest k with P(Binomial(n, ½) < k) ≤ (1 − confidence)/2 gives
 * [x(k), x(n + 1 − k)]. It assumes nothing about the shape, so it fits differences of tail latencies, which are skewed
 * and heavy-tailed. Fewer than 6 values cannot reach 95 %: the interval is then min to max, with its lower coverage.
 */
export function medianInterval(values: readonly number[], confidence = 0.95): MedianInterval {
  const sorted = [...values].sort((a, b) => a - b)
  const n = sorted.length
  if (n === 0) return { median: Number.NaN, low: Number.NaN, high: Number.NaN, coverage: 0 }
  const tail = (1 - confidence) / 2
  // k grows while P(Binomial(n, ½) ≤ k) stays within the tail; `below` is P(X ≤ k − 1), `mass` P(X = k − 1)
  let k = 1
  let mass = 0.5 ** n
  let below = mass
  while (k < Math.ceil(n / 2)) {
    const next = (mass * (n - k + 1)) / k
    if (below + next > tail) break
    mass = next
    below += next
    k++
  }
  return { median: quantileSorted(sorted, 0.5), low: sorted[k - 1] as number, high: sorted[n - k] as number, coverage: 1 - 2 * below }
}

/**
 * The q-quantile (type 7, as `quantile`) of the first `length` values of `buf`, by selection instead of a sort: O(n),
 * and the order of `buf` is changed. The bootstrap calls it thousands of times per analysis.
 */
export function quantileInPlace(buf: Float64Array, length: number, q: number): number {
  if (length === 0) return Number.NaN
  const h = (length - 1) * q
  const lo = Math.floor(h)
  select(buf, 0, length - 1, lo)
  const low = buf[lo] as number
  if (h === lo) return low
  // the next order statistic is the smallest value right of lo (selection leaves only larger values there)
  let next = Number.POSITIVE_INFINITY
  for (let i = lo + 1; i < length; i++) if ((buf[i] as number) < next) next = buf[i] as number
  return low + (h - lo) * (next - low)
}

/** Hoare's quickselect with a median-of-three pivot: afterwards buf[k] is the k-th smallest of buf[left..right]. */
function select(buf: Float64Array, left: number, right: number, k: number): void {
  while (right > left) {
    const mid = (left + right) >>> 1
    // median of three as the pivot, so sorted or constant input stays linear
    const a = buf[left] as number
    const b = buf[mid] as number
    const c = buf[right] as number
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b
    let i = left
    let j = right
    while (i <= j) {
      while ((buf[i] as number) < pivot) i++
      while ((buf[j] as number) > pivot) j--
      if (i <= j) {
        const t = buf[i] as number
        buf[i] = buf[j] as number
        buf[j] = t
        i++
        j--
      }
    }
    if (k <= j) right = j
    else if (k >= i) left = i
    else return
  }
}

/** Samples grouped by the conversation they came from: turns of one call share its caller, its path and its luck. */
export type Clusters = ReadonlyArray<readonly number[]>

/** Groups samples by a parallel array of cluster keys (conversation hashes); without keys every sample is its own cluster. */
export function clustersOf(samples: readonly number[], keys?: readonly (number | string)[]): number[][] {
  if (keys === undefined || keys.length !== samples.length) return samples.map((v) => [v])
  const groups = new Map<number | string, number[]>()
  samples.forEach((v, i) => {
    const key = keys[i] as number | string
    const g = groups.get(key)
    if (g === undefined) groups.set(key, [v])
    else g.push(v)
  })
  return [...groups.values()]
}

/** A statistic of a cluster resample: the values are the first `length` of `buf`, which it may reorder. */
export type BufferStatistic = (buf: Float64Array, length: number) => number

export const quantileStatistic = (q: number): BufferStatistic => (buf, length) => quantileInPlace(buf, length, q)
export const meanStatistic: BufferStatistic = (buf, length) => {
  let sum = 0
  for (let i = 0; i < length; i++) sum += buf[i] as number
  return length > 0 ? sum / length : Number.NaN
}

export interface BootstrapDifference {
  /** statistic(later) − statistic(baseline) on the data as observed */
  difference: number
  /** the bootstrap standard errors of each side's statistic (the sides are resampled independently) */
  seBaseline: number
  seLater: number
}

/**
 * The sampling distribution of statistic(later) − statistic(baseline) by a cluster bootstrap (Davison & Hinkley 1997,
 * §3.8): each side's clusters — conversations — are resampled with replacement, so the dependence between a
 * conversation's turns is kept in every resample and the standard error is not understated the way it is when
 * clustered turns are resampled one by one. Seeded, so an analysis is reproducible.
 */
export function clusterBootstrapDifference(baseline: Clusters, later: Clusters, statistic: BufferStatistic, rng: Rng, iterations = 400): BootstrapDifference {
  const b = packed(baseline)
  const l = packed(later)
  const observed = statistic(l.values.slice(), l.values.length) - statistic(b.values.slice(), b.values.length)
  const bufBase = new Float64Array(b.maxLength)
  const bufLater = new Float64Array(l.maxLength)
  const base = new Float64Array(iterations)
  const next = new Float64Array(iterations)
  for (let i = 0; i < iterations; i++) {
    next[i] = statistic(bufLater, resample(l, bufLater, rng))
    base[i] = statistic(bufBase, resample(b, bufBase, rng))
  }
  return { difference: observed, seBaseline: standardDeviation(base), seLater: standardDeviation(next) }
}

/** Clusters laid end to end in one typed array, with each cluster's offset: resampling copies slices. */
interface Packed {
  values: Float64Array
  offsets: Int32Array
  /** the longest a resample can be: every draw the largest cluster */
  maxLength: number
}

function packed(clusters: Clusters): Packed {
  let n = 0
  let largest = 0
  for (const c of clusters) {
    n += c.length
    largest = Math.max(largest, c.length)
  }
  const values = new Float64Array(n)
  const offsets = new Int32Array(clusters.length + 1)
  let i = 0
  clusters.forEach((c, k) => {
    offsets[k] = i
    for (const v of c) values[i++] = v
  })
  offsets[clusters.length] = i
  return { values, offsets, maxLength: largest * clusters.length }
}

/** Draws as many clusters as there are, with replacement, into buf; returns how many values it wrote. */
function resample(p: Packed, buf: Float64Array, rng: Rng): number {
  let n = 0
  const k = p.offsets.length - 1
  for (let i = 0; i < k; i++) {
    const c = Math.floor(rng.next() * k)
    const from = p.offsets[c] as number
    const to = p.offsets[c + 1] as number
    for (let j = from; j < to; j++) buf[n++] = p.values[j] as number
  }
  return n
}

function standardDeviation(xs: Float64Array): number {
  let mean = 0
  for (const x of xs) mean += x
  mean /= xs.length
  let ss = 0
  for (const x of xs) ss += (x - mean) ** 2
  return Math.sqrt(ss / Math.max(1, xs.length - 1))
}

/**
 * How much serial dependence inflates the variance of a statistic of a series in time order, beyond what resampling
 * conversations captures: turns of different conversations that happen close together share a queue's state. The
 * lag-1 autocorrelation ρ of the series above/below its median, and the AR(1) variance inflation (1 + ρ)/(1 − ρ)
 * (the effective sample size n(1 − ρ)/(1 + ρ); Bartlett 1946); ρ is taken in [0, 0.8], so the factor is 1 to 9.
 */
export function serialInflation(inTimeOrder: readonly number[], q = 0.5): number {
  const n = inTimeOrder.length
  if (n < 10) return 1
  const cut = quantile(inTimeOrder, q)
  const above = inTimeOrder.map((v) => (v > cut ? 1 : 0))
  const mean = above.reduce<number>((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    const d = (above[i] as number) - mean
    den += d * d
    if (i > 0) num += d * ((above[i - 1] as number) - mean)
  }
  const rho = den > 0 ? Math.min(0.8, Math.max(0, num / den)) : 0
  return (1 + rho) / (1 - rho)
}

/**
 * Holm's step-down adjustment (Holm 1979): adjusted p-values that hold the family-wise error rate — the chance of
 * even one false alarm among all the tests — at the level they are compared with, under any dependence between the
 * tests. p_(i) is adjusted to max over j ≤ i of (m − j + 1)·p_(j), capped at 1.
 */
export function holmAdjust(ps: readonly number[]): number[] {
  const m = ps.length
  const order = ps.map((p, i) => ({ p: Number.isNaN(p) ? 1 : p, i })).sort((a, b) => a.p - b.p)
  const adjusted = new Array<number>(m).fill(1)
  let running = 0
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p))
    adjusted[i] = running
  })
  return adjusted
}
