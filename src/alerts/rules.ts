import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { PROXY_OVERLOADED } from '../analyze/proxy-saturation.js'
import type { AlertsConfig } from '../config/index.js'
import { quantile } from '../analyze/stats.js'
import { noGcCycle } from '../analyze/resources.js'
import { trendOf } from '../analyze/trend.js'
import { LOOP_SAMPLE_MS } from '../clock.js'
import { componentLatencyUs } from '../latency.js'
import { isMemoryMetric } from '../resources/metrics.js'
import type { HopRecord, TurnRecord } from '../types.js'
import { KeyedWindows, SlidingWindow } from './window.js'

export type Severity = 'warning' | 'critical'

/** What a rule sees of one key (a component, a target) at one evaluation. */
export interface Finding {
  /** the component or target the finding is about */
  key: string
  /**
   * whether the condition holds; undefined when the window has too few events to judge (some, fewer than
   * min_events): the alert keeps its state, so a thin window neither fires it nor resolves it
   */
  active: boolean | undefined
  value: number
  threshold: number
  message: string
}

/** A live rule: fed events, asked at each evaluation what holds now. */
export interface Rule {
  name: string
  severity: Severity
  evaluate(nowUs: number): Finding[]
}

const MB = 1024 * 1024

/** No events: the condition does not hold (no traffic is not an alert). Too few: not judged. Enough: the condition. */
function judged(events: number, minEvents: number, holds: boolean): boolean | undefined {
  if (events === 0) return false
  return events >= minEvents ? holds : undefined
}

const fmt = (v: number, digits = 0) => v.toFixed(digits)

/** p95 of each component's latency (as src/latency.ts defines it) over the window, above the component's SLO. */
export class ComponentLatencyRule implements Rule {
  readonly name = 'component_p95_above_slo'
  readonly severity = 'warning'
  private readonly windows: KeyedWindows

  constructor(
    private readonly thresholds: Readonly<Record<string, number>>,
    private readonly windowUs: number,
    private readonly minEvents: number,
  ) {
    this.windows = new KeyedWindows(windowUs)
  }

  observeHop(hop: HopRecord): void {
    const latency = componentLatencyUs(hop)
    if (latency === undefined || hop.error_kind !== '' || this.thresholds[hop.component] === undefined) return
    this.windows.push(hop.component, hop.end_us || hop.start_us, latency / 1000)
  }

  evaluate(nowUs: number): Finding[] {
    return this.windows.entries().map(([component, w]) => {
      const values = w.current(nowUs)
      const threshold = this.thresholds[component] as number
      const p95 = values.length > 0 ? quantile(values, 0.95) : 0
      return { key: component, active: judged(values.length, this.minEvents, p95 > threshold), value: p95, threshold, message: `${component} p95 ${fmt(p95)} ms over the last ${fmt(this.windowUs / 1e6)} s (${values.length} hops), SLO ${fmt(threshold)} ms` }
    })
  }
}

/** Hops that failed, per component, over the window (a caller's own hang-up, client_abort, is not the system's error). */
export class ErrorRateRule implements Rule {
  readonly name = 'error_rate_above_limit'
  readonly severity = 'critical'
  private readonly windows: KeyedWindows

  constructor(
    private readonly limit: number,
    private readonly windowUs: number,
    private readonly minEvents: number,
  ) {
    this.windows = new KeyedWindows(windowUs)
  }

  observeHop(hop: HopRecord): void {
    if (hop.error_kind === 'client_abort') return
    this.windows.push(hop.component, hop.end_us || hop.start_us, hop.error_kind === '' ? 0 : 1)
  }

  evaluate(nowUs: number): Finding[] {
    return this.windows.entries().map(([component, w]) => {
      const values = w.current(nowUs)
      const rate = values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : 0
      return { key: component, active: judged(values.length, this.minEvents, rate > this.limit), value: rate, threshold: this.limit, message: `${component}: ${fmt(rate * 100, 1)} % of ${values.length} hops failed over the last ${fmt(this.windowUs / 1e6)} s (limit ${fmt(this.limit * 100, 1)} %)` }
    })
  }
}

/** The share of the callers' turns that succeeded over the window. */
export class SuccessRule implements Rule {
  readonly name = 'success_below_slo'
  readonly severity = 'critical'
  private readonly window: SlidingWindow

  constructor(
    private readonly min: number,
    private readonly windowUs: number,
    private readonly minEvents: number,
  ) {
    this.window = new SlidingWindow(windowUs)
  }

  observeTurn(turn: TurnRecord): void {
    this.window.push(turn.end_us || turn.user_start_us, turn.success)
  }

  evaluate(nowUs: number): Finding[] {
    const values = this.window.current(nowUs)
    if (values.length === 0) return []
    const share = values.reduce((a, b) => a + b, 0) / values.length
    return [{ key: 'turns', active: judged(values.length, this.minEvents, share < this.min), value: share, threshold: this.min, message: `${fmt(share * 100, 1)} % of ${values.length} turns succeeded over the last ${fmt(this.windowUs / 1e6)} s (SLO ${fmt(this.min * 100, 1)} %)` }]
  }
}

/** A target's memory rising, significantly (Mann–Kendall on the lower envelope) and faster than the limit. */
export class MemorySlopeRule implements Rule {
  readonly name = 'memory_rising'
  readonly severity = 'warning'
  private readonly windows: KeyedWindows

  constructor(
    private readonly limitMbPerHour: number,
    private readonly windowUs: number,
  ) {
    this.windows = new KeyedWindows(windowUs, 10_000)
  }

  observeSample(target: string, metric: string, atUs: number, value: number): void {
    if (!isMemoryMetric(metric)) return
    this.windows.push(metric === 'rss_bytes' || metric === 'memory_bytes' ? target : `${target} ${metric}`, atUs, value)
  }

  evaluate(nowUs: number): Finding[] {
    return this.windows.entries().map(([key, w]) => {
      const points = w.points(nowUs)
      // half a window of samples at least: a process's first minutes of growth are its warm-up, not a leak
      const covered = (points[points.length - 1]?.t ?? 0) >= this.windowUs / 2e6
      const trend = points.length >= 8 && covered ? trendOf(points) : undefined
      const mbPerHour = (trend?.slope_per_hour ?? 0) / MB
      // a heap growing toward its next full collection is not a leak until floors rise from one collection to the next
      const uncycled = trend !== undefined && noGcCycle(points, trend)
      return {
        key,
        active: trend?.verdict === 'rising' && !uncycled && mbPerHour > this.limitMbPerHour,
        value: mbPerHour,
        threshold: this.limitMbPerHour,
        message: `${key} memory ${trend === undefined ? `is not judged before ${fmt(this.windowUs / 2e6)} s of samples` : `${uncycled ? 'rising, with no GC cycle seen yet,' : trend.verdict} at ${fmt(mbPerHour, 1)} MB/h (95 % CI ${fmt(trend.ci_per_hour[0] / MB, 1)}…${fmt(trend.ci_per_hour[1] / MB, 1)}, p ${trend.p.toPrecision(2)})`} over the last ${fmt(points.at(-1)?.t ?? 0)} s, limit ${fmt(this.limitMbPerHour)} MB/h`,
      }
    })
  }
}

/** An event loop's lag p99 (ms) since the last call; 0 when nothing was measured. */
export type LagSource = { takeP99Ms(): number; dispose?(): void }

/** This process's own event loop, sampled every LOOP_SAMPLE_MS. */
export function ownLoopLag(): LagSource {
  const delay: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS })
  delay.enable()
  return {
    takeP99Ms() {
      const p99 = delay.count > 0 ? delay.percentile(99) / 1e6 : 0
      delay.reset()
      return p99
    },
    dispose: () => delay.disable(),
  }
}

/**
 * An event loop lagging (its p99 over each evaluation): a load generator's callers then start late, and a proxy
 * stamps hops late, so the latencies either records are partly its own. The loop is this process's own unless a
 * source is given (the workers of `hopwatch proxy --workers`, which report theirs).
 */
export class EventLoopRule implements Rule {
  readonly severity = 'warning'

  constructor(
    readonly name: string,
    private readonly key: string,
    private readonly limitMs: number,
    /** the message says "<who>'s event-loop lag p99 is N ms (limit L ms): <meaning>" */
    private readonly who: string,
    private readonly meaning: string,
    private readonly lag: LagSource = ownLoopLag(),
  ) {}

  evaluate(): Finding[] {
    const p99 = this.lag.takeP99Ms()
    return [{ key: this.key, active: p99 > this.limitMs, value: p99, threshold: this.limitMs, message: `${this.who}'s event-loop lag p99 is ${fmt(p99)} ms (limit ${fmt(this.limitMs)} ms): ${this.meaning}` }]
  }

  dispose(): void {
    this.lag.dispose?.()
  }
}

/** The load generator's own loop (generator_overloaded): its numbers stop being the system's. */
export function generatorRule(limitMs: number): EventLoopRule {
  return new EventLoopRule('generator_overloaded', 'generator', limitMs, 'the generator', 'its callers start late and its latencies include its own delay')
}

/**
 * A proxy's own loop, where no callers share it (`hopwatch proxy`: proxy_overloaded), keyed by the proxy's name; the
 * analysis leaves out the steps it lagged in (src/analyze/proxy-saturation.ts).
 */
export function proxyRule(proxy: string, limitMs: number, lag?: LagSource): EventLoopRule {
  return new EventLoopRule(PROXY_OVERLOADED, proxy, limitMs, `the proxy ${proxy}`, 'it stamps hops late, so its latencies are partly its own', lag)
}

/** The rules an `alerts:` section asks for; the generator rule only where callers run, the proxy rule where they do not. */
export function rulesFromConfig(alerts: AlertsConfig, options: { generator: boolean; proxy?: string; proxyLag?: LagSource }) {
  const windowUs = alerts.window_s * 1e6
  return {
    latency: new ComponentLatencyRule(alerts.rules.component_p95_ms, windowUs, alerts.min_events),
    errors: new ErrorRateRule(alerts.rules.error_rate_max, windowUs, alerts.min_events),
    success: new SuccessRule(alerts.rules.success_min, windowUs, alerts.min_events),
    memory: new MemorySlopeRule(alerts.rules.memory_slope_mb_per_h, alerts.memory_window_s * 1e6),
    generator: options.generator ? generatorRule(alerts.rules.generator_lag_ms) : undefined,
    proxy: !options.generator && options.proxy !== undefined ? proxyRule(options.proxy, alerts.rules.proxy_lag_ms, options.proxyLag) : undefined,
  }
}
