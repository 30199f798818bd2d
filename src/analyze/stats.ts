/**
 * Statistics the analyzer needs, as plain functions over numbers (no I/O), each tested on data whose answer is known.
 */
import type { Rng } from '../sim/random.js'

/** The q-quantile (0–1) of ascending-sorted values, interpolating between order statistics (Hyndman & Fan type 7, R's default). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const h = (sorted.length - 1) * q
  const lo = Math.floor(h)
  const hi = Math.ceil(h)
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number))
}

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

/**
 * A percentile bootstrap confidence interval for quantile(later) − quantile(baseline): resample each side with
 * replacement `iterations` times. Seeded, so an analysis is reproducible.
 */
export function bootstrapQuantileDifference(baseline: readonly number[], later: readonly number[], q: number, rng: Rng, options: { iterations?: number; confidence?: number } = {}): { low: number; high: number } {
  const iterations = options.iterations ?? 1000
  const alpha = 1 - (options.confidence ?? 0.95)
  const resample = (values: readonly number[]) => {
    const out = new Array<number>(values.length)
    for (let i = 0; i < values.length; i++) out[i] = values[Math.floor(rng.next() * values.length)] as number
    return quantile(out, q)
  }
  const diffs: number[] = []
  for (let i = 0; i < iterations; i++) diffs.push(resample(later) - resample(baseline))
  diffs.sort((a, b) => a - b)
  return { low: quantileSorted(diffs, alpha / 2), high: quantileSorted(diffs, 1 - alpha / 2) }
}
