import type { ResourceSeriesRow } from '../store/analysis.js'
import { isMemoryMetric, COUNT_METRICS } from '../resources/metrics.js'
import { trendOf, type Point, type Trend } from './trend.js'

const MB = 1024 * 1024
/** Fewer envelope points than this say nothing about a trend. */
const MIN_POINTS = 6
/**
 * A young process grows its heap, pools and caches for a while under any load: the first tenth of the samples is
 * left out of a trend, and what remains must span at least two minutes (a Node process at a few hundred requests a
 * second settles in about half a minute; slower ones take longer, and a soak should run well beyond this).
 */
export const WARM_UP_SHARE = 0.1
/**
 * Two minutes after the warm-up, for any trend. A full (mark-compact) collection may come only every minute or two
 * (a Node service at 200 requests a second: 80 s here, longer on CI), so memory that only rose within it is judged
 * by MIN_UNBROKEN_RISE_S; MIN_LEAK_CHANGE keeps a slow sawtooth from reading as a leak.
 */
export const MIN_TREND_SPAN_S = 120
/**
 * The least growth over the span that is called a leak, whatever the slope per hour: allocators settle by a few MB
 * (the no-leak control once read 320 MB/h, p 0.0005, from 11 MB over 126 s). For counts, a handful of fds or threads.
 */
export const MIN_LEAK_CHANGE = { memory: 16 * 1024 * 1024, count: 8 } as const
/**
 * Memory that rose over less than this span, falling back fewer than twice, is not yet a trend: a garbage-collected
 * heap grows toward its next full collection for a minute or more under load (the no-leak control, a Node service at
 * 200 requests a second: 25 MB over 80 s from 87 MB before a collection brought it to 72 MB; on CI it rose 19 MB over
 * its 126 s and read 540 MB/h, p 0.0004). A leak is floors that rise from one collection to the next, which takes two
 * fall-backs to see, or a rise no collection explains (the level at least doubles). A collected heap under load
 * falls back well within this span.
 */
export const MIN_UNBROKEN_RISE_S = 600
/**
 * A fall of at least this share of the highest value since the last fall: a collection returned memory. The no-leak
 * control's full collections fell 36 %; at 1–2 % its 100 ms samples also showed falls that were no collection (2 or 3
 * where there was 1), at 3 % none, over three 140 s runs.
 */
export const FALL_BACK_SHARE = 0.03
/** The headroom rules: CPU above this share of the cores it may use, memory above this share of its limit. */
export const SATURATION = { cpu: 0.85, memory: 0.8 } as const

/** One sampled series as the store returns it: per time bucket, seconds since the first sample and the lowest and highest value. */
export type SampledSeries = ResourceSeriesRow

export interface ResourceTrend {
  target: string
  metric: string
  /** memory (bytes), or a count that exhausts (open fds, threads) */
  kind: 'memory' | 'count'
  verdict: Trend['verdict'] | 'too_short'
  /**
   * Why a trend is too short to tell: `span`, fewer than MIN_TREND_SPAN_S of samples after the warm-up; `no_gc_cycle`,
   * memory that rose over less than MIN_UNBROKEN_RISE_S, fell back fewer than twice and less than doubled. Null with
   * any other verdict.
   */
  too_short_because: 'span' | 'no_gc_cycle' | null
  /** per hour of wall-clock time, in the metric's unit */
  slope_per_hour: number
  ci_per_hour: [number, number]
  p: number
  last: number
  limit: number | null
  hours_to_limit: number | null
  points: number
  /** seconds of samples the trend was fitted to (the warm-up left out) */
  span_s: number
}

export interface Saturation {
  step: number
  load: number
  target: string
  resource: 'cpu' | 'memory'
  /** cores used, or bytes at the step's peak */
  value: number
  limit: number
  share: number
}

export interface ResourceReport {
  /**
   * Whether the load was the same throughout (a soak): only then is memory that rises a leak. Under a ramp it may
   * just follow the load (more connections, bigger queues).
   */
  constant_load: boolean
  trends: ResourceTrend[]
  /** the steps at which a target used more than 85 % of its cores or 80 % of its memory limit */
  saturation: Saturation[]
  /** per target: the most cores used over a step (or the run), and the cores it may use */
  cpu: Array<{ target: string; peak_cores: number; limit_cores: number | null }>
  /** targets that could not be read at some samples (an endpoint down, no process matched) */
  unreadable: Array<{ target: string; samples: number }>
}

interface StepWindow {
  step: number
  load: number
  start_us: number
  end_us: number
}

const lastOf = (xs: readonly number[]) => xs[xs.length - 1] ?? 0

/** The value of a counter at time t (s), linear between samples; undefined outside them. */
function at(series: SampledSeries, t: number): number | undefined {
  const { t: ts, high } = series
  if (ts.length === 0 || t < (ts[0] as number) || t > lastOf(ts)) return undefined
  let i = 0
  while (i < ts.length - 1 && (ts[i + 1] as number) < t) i++
  const t1 = ts[i] as number
  const t2 = ts[i + 1] ?? t1
  const v1 = high[i] as number
  const v2 = high[i + 1] ?? v1
  return t2 === t1 ? v1 : v1 + ((v2 - v1) * (t - t1)) / (t2 - t1)
}

/** The points after the warm-up (the first WARM_UP_SHARE of their span), and the seconds those cover. */
export function afterWarmUp(all: readonly Point[]): { points: Point[]; span: number } {
  const first = all[0]?.t ?? 0
  const settled = first + WARM_UP_SHARE * ((all[all.length - 1]?.t ?? 0) - first)
  const points = all.filter((p) => p.t >= settled)
  return { points, span: (points[points.length - 1]?.t ?? 0) - (points[0]?.t ?? 0) }
}

/** The memory trends of a run at one load (a soak), the only run where memory that rises is a leak; none otherwise. */
export function soakMemory(report: ResourceReport | null): ResourceTrend[] {
  return report?.constant_load === true ? report.trends.filter((t) => t.kind === 'memory') : []
}

/** Memory that rises during a soak: a leak. A rise while the load changed may follow the load. */
export function leaks(report: ResourceReport | null): ResourceTrend[] {
  return soakMemory(report).filter((t) => t.verdict === 'rising')
}

/** How many times the series fell FALL_BACK_SHARE or more below its highest value since the last such fall. */
export function fallBacks(points: readonly Point[]): number {
  let peak = -Infinity
  let falls = 0
  for (const p of points) {
    if (p.value < peak * (1 - FALL_BACK_SHARE)) {
      falls++
      peak = p.value
    } else peak = Math.max(peak, p.value)
  }
  return falls
}

/**
 * Memory rising (by `trend`, fitted to `points`) over less than MIN_UNBROKEN_RISE_S, falling back fewer than twice and
 * less than doubling: no GC cycle seen, so not yet a trend, whatever its p.
 */
export function noGcCycle(points: readonly Point[], trend: Trend): boolean {
  const span = (points[points.length - 1]?.t ?? 0) - (points[0]?.t ?? 0)
  const rise = (trend.slope_per_hour / 3600) * span
  return trend.verdict === 'rising' && span < MIN_UNBROKEN_RISE_S && rise < (points[0]?.value ?? 0) && fallBacks(points) < 2
}

function trendFor(series: SampledSeries, kind: 'memory' | 'count', limit: number | null): ResourceTrend {
  const { points, span } = afterWarmUp(series.t.map((t, i) => ({ t, value: series.low[i] as number })))
  const trend = trendOf(points, { minAbsoluteChange: MIN_LEAK_CHANGE[kind], ...(limit !== null ? { limit } : {}) })
  const tooShort: ResourceTrend['too_short_because'] =
    trend.n < MIN_POINTS || span < MIN_TREND_SPAN_S ? 'span' : kind === 'memory' && noGcCycle(points, trend) ? 'no_gc_cycle' : null
  return {
    target: series.target,
    metric: series.metric,
    kind,
    verdict: tooShort !== null ? 'too_short' : trend.verdict,
    too_short_because: tooShort,
    slope_per_hour: trend.slope_per_hour,
    ci_per_hour: trend.ci_per_hour,
    p: trend.p,
    last: lastOf(series.high),
    limit,
    hours_to_limit: trend.hours_to_limit,
    points: trend.n,
    span_s: span,
  }
}

/**
 * What the resource samples say: a trend for each memory series and each fd/thread count (rising only when
 * significant and its interval excludes zero; a GC sawtooth is not a rise), and, per step, the targets beyond the
 * headroom rules.
 */
export function resourceReport(series: readonly SampledSeries[], steps: readonly StepWindow[]): ResourceReport {
  const byTarget = new Map<string, SampledSeries[]>()
  for (const s of series) {
    const list = byTarget.get(s.target)
    if (list === undefined) byTarget.set(s.target, [s])
    else list.push(s)
  }
  const report: ResourceReport = { constant_load: new Set(steps.map((s) => s.load)).size <= 1, trends: [], saturation: [], cpu: [], unreadable: [] }
  for (const [target, all] of byTarget) {
    const metric = (name: string) => all.find((s) => s.metric === name)
    const memoryLimit = metric('memory_limit_bytes')
    const limitBytes = memoryLimit !== undefined ? lastOf(memoryLimit.high) : null
    const memories = all.filter((s) => isMemoryMetric(s.metric))
    for (const m of memories) {
      const gpuLimit = /^gpu(\d+)_memory_bytes$/.exec(m.metric)
      const limit = gpuLimit !== null ? (metric(`gpu${gpuLimit[1]}_memory_limit_bytes`)?.high.at(-1) ?? null) : limitBytes
      report.trends.push(trendFor(m, 'memory', limit))
    }
    for (const name of COUNT_METRICS) {
      const s = metric(name)
      if (s !== undefined) report.trends.push(trendFor(s, 'count', null))
    }
    const up = metric('up')
    const down = up?.low.filter((v) => v === 0).length ?? 0
    if (down > 0) report.unreadable.push({ target, samples: down })

    const cpu = metric('cpu_seconds')
    const cores = metric('cpu_limit_cores')
    const limitCores = cores !== undefined ? lastOf(cores.high) : null
    const windows = steps.length > 0 ? steps : cpu !== undefined ? [{ step: -1, load: 0, start_us: cpu.t0_us + (cpu.t[0] ?? 0) * 1e6, end_us: cpu.t0_us + lastOf(cpu.t) * 1e6 }] : []
    let peak = 0
    for (const w of windows) {
      const t1 = (w.start_us - (cpu?.t0_us ?? 0)) / 1e6
      const t2 = (w.end_us - (cpu?.t0_us ?? 0)) / 1e6
      if (cpu !== undefined) {
        const a = at(cpu, Math.max(t1, cpu.t[0] ?? 0))
        const b = at(cpu, Math.min(t2, lastOf(cpu.t)))
        const span = Math.min(t2, lastOf(cpu.t)) - Math.max(t1, cpu.t[0] ?? 0)
        if (a !== undefined && b !== undefined && span >= 1) {
          const used = (b - a) / span
          peak = Math.max(peak, used)
          if (limitCores !== null && w.step >= 0 && used > SATURATION.cpu * limitCores) report.saturation.push({ step: w.step, load: w.load, target, resource: 'cpu', value: used, limit: limitCores, share: used / limitCores })
        }
      }
      if (limitBytes !== null && limitBytes > 0 && w.step >= 0) {
        for (const m of memories.filter((x) => !x.metric.startsWith('gpu'))) {
          const inStep = m.high.filter((_, i) => {
            const us = m.t0_us + (m.t[i] as number) * 1e6
            return us >= w.start_us && us <= w.end_us
          })
          const most = Math.max(0, ...inStep)
          if (most > SATURATION.memory * limitBytes) report.saturation.push({ step: w.step, load: w.load, target, resource: 'memory', value: most, limit: limitBytes, share: most / limitBytes })
        }
      }
    }
    if (cpu !== undefined) report.cpu.push({ target, peak_cores: peak, limit_cores: limitCores })
  }
  return report
}

/** A memory trend in words: "rising 48.2 MB/h (95 % CI 41.0–55.1, p 0.0001), at its 2048 MB limit in 31 h". */
export function describeTrend(t: ResourceTrend): string {
  const unit = t.kind === 'memory' ? MB : 1
  const u = t.kind === 'memory' ? ' MB/h' : '/h'
  const n = (v: number) => (Math.abs(v / unit) >= 100 ? (v / unit).toFixed(0) : (v / unit).toFixed(1))
  if (t.verdict === 'too_short' && t.too_short_because === 'no_gc_cycle') {
    return `too short for a trend (rose ${n((t.slope_per_hour / 3600) * t.span_s)} MB over ${Math.round(t.span_s)} s, falling back fewer than twice: a collected heap grows that way between full collections; a leak's floors keep rising over ${MIN_UNBROKEN_RISE_S} s, or it doubles)`
  }
  if (t.verdict === 'too_short') return `too short for a trend (${Math.round(t.span_s)} s of samples after the warm-up; ${MIN_TREND_SPAN_S} s needed)`
  const slope = `${n(t.slope_per_hour)}${u} (95 % CI ${n(t.ci_per_hour[0])}…${n(t.ci_per_hour[1])}, p ${t.p < 0.0001 ? '< 0.0001' : t.p.toFixed(4)})`
  const limit = t.hours_to_limit !== null && t.limit !== null ? `, at its ${n(t.limit)}${t.kind === 'memory' ? ' MB' : ''} limit in ${t.hours_to_limit < 1 ? `${Math.round(t.hours_to_limit * 60)} min` : `${t.hours_to_limit.toFixed(1)} h`}` : ''
  return `${t.verdict} ${slope}${limit}`
}
