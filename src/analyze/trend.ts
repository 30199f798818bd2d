/**
 * Trends over a soak: is memory (or latency, or open fds) really rising, how fast, and when does it reach a limit?
 * A robust slope (Theil–Sen) fitted to the lower envelope of the series, so a garbage collector's sawtooth does not
 * count as growth, with a Mann–Kendall test of the envelope's trend and a confidence interval for the slope.
 */
import { normalUpperTail, quantileSorted } from './stats.js'

export interface Point {
  /** seconds since the start */
  t: number
  value: number
}

export interface Trend {
  /** units per hour (bytes/h for memory) */
  slope_per_hour: number
  /** the slope's ~95 % confidence interval, per hour */
  ci_per_hour: [number, number]
  /** Mann–Kendall two-sided p-value of a monotone trend in the envelope */
  p: number
  verdict: 'rising' | 'falling' | 'flat'
  /** hours until the fitted line reaches the limit, when it is rising towards one */
  hours_to_limit: number | null
  /** points in the lower envelope the fit used */
  n: number
}

/**
 * The lower envelope: the minimum of each of `windows` equal time windows. Memory freed by a GC cycle falls back to
 * the same floor each time; a leak raises the floor.
 */
export function lowerEnvelope(points: readonly Point[], windows: number): Point[] {
  if (points.length === 0) return []
  const t0 = points[0]?.t ?? 0
  const t1 = points[points.length - 1]?.t ?? 0
  const width = (t1 - t0) / windows || 1
  const mins = new Map<number, Point>()
  for (const p of points) {
    const w = Math.min(windows - 1, Math.floor((p.t - t0) / width))
    const current = mins.get(w)
    if (current === undefined || p.value < current.value) mins.set(w, p)
  }
  return [...mins.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p)
}

/**
 * The median of each of `windows` equal time windows, at the window's middle: for latency creep, where the typical
 * turn matters and the fastest would hide a queue that builds.
 */
export function medianEnvelope(points: readonly Point[], windows: number): Point[] {
  if (points.length === 0) return []
  const t0 = points[0]?.t ?? 0
  const width = ((points[points.length - 1]?.t ?? 0) - t0) / windows || 1
  const groups = new Map<number, number[]>()
  for (const p of points) {
    const w = Math.min(windows - 1, Math.floor((p.t - t0) / width))
    const g = groups.get(w)
    if (g === undefined) groups.set(w, [p.value])
    else g.push(p.value)
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([w, values]) => ({ t: t0 + (w + 0.5) * width, value: quantileSorted(values.sort((a, b) => a - b), 0.5) }))
}

/** Σ t(t − 1)(2t + 5) over groups of tied values: the tie term of Mann–Kendall's variance. */
function tieTerm(values: readonly number[]): number {
  const counts = new Map<number, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  let sum = 0
  for (const t of counts.values()) sum += t * (t - 1) * (2 * t + 5)
  return sum
}

/** The k-th smallest (1-based, fractional k interpolated between its neighbours) of ascending values, clamped to them. */
function orderStatistic(sorted: readonly number[], k: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, k - 1))
  const lo = Math.floor(i)
  const hi = Math.min(sorted.length - 1, lo + 1)
  return (sorted[lo] as number) + (i - lo) * ((sorted[hi] as number) - (sorted[lo] as number))
}

/**
 * Theil–Sen: the median of the slopes between every pair of points, and Sen's (1968) ~95 % interval: with N slopes
 * and C = 1.96·√Var(S), Var(S) being Mann–Kendall's with its tie correction for tied values and tied times, the
 * limits are the ((N − C)/2)-th and ((N + C)/2 + 1)-th smallest slopes, interpolated rather than rounded outwards or
 * inwards (rounding and ignoring ties both narrowed it, towards a verdict).
 */
export function theilSen(points: readonly Point[]): { slope: number; low: number; high: number } {
  const slopes: number[] = []
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const a = points[i] as Point
      const b = points[j] as Point
      if (b.t !== a.t) slopes.push((b.value - a.value) / (b.t - a.t))
    }
  }
  if (slopes.length === 0) return { slope: 0, low: 0, high: 0 }
  slopes.sort((x, y) => x - y)
  const n = points.length
  const variance = (n * (n - 1) * (2 * n + 5) - tieTerm(points.map((p) => p.value)) - tieTerm(points.map((p) => p.t))) / 18
  const c = 1.96 * Math.sqrt(Math.max(0, variance))
  const m = slopes.length
  return { slope: quantileSorted(slopes, 0.5), low: orderStatistic(slopes, (m - c) / 2), high: orderStatistic(slopes, (m + c) / 2 + 1) }
}

/** Mann–Kendall: two-sided p-value that the series has a monotone trend (normal approximation, tie-corrected). */
export function mannKendall(values: readonly number[]): { s: number; p: number } {
  const n = values.length
  if (n < 3) return { s: 0, p: 1 }
  let s = 0
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) s += Math.sign((values[j] as number) - (values[i] as number))
  const variance = (n * (n - 1) * (2 * n + 5) - tieTerm(values)) / 18
  if (variance <= 0) return { s, p: 1 }
  const z = s > 0 ? (s - 1) / Math.sqrt(variance) : s < 0 ? (s + 1) / Math.sqrt(variance) : 0
  return { s, p: 2 * normalUpperTail(Math.abs(z)) }
}

export interface TrendOptions {
  /** equal time windows the envelope takes one point from (24) */
  windows?: number
  /** Mann–Kendall's significance level (0.01) */
  alpha?: number
  /** the level whose crossing is projected (same units as the values) */
  limit?: number
  /** lower (memory: GC cycles fall back to the floor) or median (latency) per window */
  envelope?: 'lower' | 'median'
  /**
   * The smallest change over the series' span, as a share of its median level, that counts as a trend (0.05). A
   * short soak sees an allocator settle by a few MB, significantly; per hour that reads as hundreds of MB, and it is
   * not a leak. A real leak outgrows this as the soak gets longer.
   */
  minChange?: number
  /** the smallest change over the span, in the series' unit, that counts as a trend (0: none) */
  minAbsoluteChange?: number
}

/**
 * The trend of a series: rising or falling when Mann–Kendall says so (p < alpha), the slope's interval excludes
 * zero, and the fitted change over the span is at least `minChange` of the level; flat otherwise, however noisy.
 */
export function trendOf(points: readonly Point[], options: TrendOptions = {}): Trend {
  const envelope = options.envelope === 'median' ? medianEnvelope(points, options.windows ?? 24) : lowerEnvelope(points, options.windows ?? 24)
  const fit = theilSen(envelope)
  const mk = mannKendall(envelope.map((p) => p.value))
  const alpha = options.alpha ?? 0.01
  const span = (envelope[envelope.length - 1]?.t ?? 0) - (envelope[0]?.t ?? 0)
  const level = Math.abs(quantileSorted(envelope.map((p) => p.value).sort((a, b) => a - b), 0.5))
  const material = Math.abs(fit.slope * span) >= Math.max((options.minChange ?? 0.05) * level, options.minAbsoluteChange ?? 0)
  const significant = mk.p < alpha && (fit.low > 0 || fit.high < 0) && material
  const verdict = !significant ? 'flat' : fit.slope > 0 ? 'rising' : 'falling'
  let hours: number | null = null
  const last = envelope[envelope.length - 1]
  if (verdict === 'rising' && options.limit !== undefined && last !== undefined) {
    // the fitted line through the envelope's median point, projected to the limit
    const medianT = quantileSorted(envelope.map((p) => p.t).sort((a, b) => a - b), 0.5)
    const medianV = quantileSorted(envelope.map((p) => p.value).sort((a, b) => a - b), 0.5)
    const at = medianV + fit.slope * (last.t - medianT)
    hours = Math.max(0, (options.limit - at) / fit.slope / 3600)
  }
  return { slope_per_hour: fit.slope * 3600, ci_per_hour: [fit.low * 3600, fit.high * 3600], p: mk.p, verdict, hours_to_limit: hours, n: envelope.length }
}
