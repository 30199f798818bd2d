import { DESIGN_SLOS } from '../slos.js'
import { headline } from './headline.js'
import { proxySaturation } from './proxy-saturation.js'
import { shardProblem } from './shards.js'
import type { AlertChangeRow, StepSeries } from '../store/analysis.js'
import { afterWarmUp, MIN_TREND_SPAN_S, resourceReport, type ResourceReport, type SampledSeries } from './resources.js'
import { trendOf, type Point, type Trend } from './trend.js'
import { attribute, criticalPath, type Attribution, type TurnPath } from './attribution.js'
import { quantile } from './stats.js'
import { spikeFindings, type SpikeFindings, type TimelineBucket } from './spike.js'
import { DEGRADATION_DEFAULTS, judgeFamily, prepareSeries, werOptions, type Degradation, type DegradationOptions, type StepSamples, type StepVerdict } from './degradation.js'

/** Service-level objectives: the industry bands (docs/architecture.md) unless overridden. */
export interface Slos {
  response_p95_ms: number
  components_p95_ms: Record<string, number>
  success_min: number
}

export const DEFAULT_SLOS: Slos = { ...DESIGN_SLOS, components_p95_ms: { ...DESIGN_SLOS.components_p95_ms } }

/** What the store gives the analyzer: aggregates per step, and bounded samples for the rank tests. */
export interface RunData {
  run: { run_id: string; name: string; source: string; time_scale?: number }
  steps: Array<{
    step: number
    phase: string
    target_load: number
    achieved_load: number
    generator_limited: number
    /** why the step is no evidence ('' or absent when it is valid) */
    invalid_reason?: string
    host_cpu?: number
    generator_lag_p99_ms?: number
    start_us?: number
    end_us?: number
    started?: number
    /** each generator shard's label and when it began the step (several generators, one run) */
    shards?: Array<{ shard: string; start_us: number }>
  }>
  components: Array<{ step: number; component: string; hops: number; n: number; censored?: number; p50_ms: number; p95_ms: number; p99_ms: number; errors: number }>
  /** `status`: the upstream's answer for upstream_status errors (503 sheds load; 500 fails) */
  errors: Array<{ step: number; component: string; error_kind: string; status?: number; n: number }>
  turns: Array<{ step: number; turns: number; answered: number; censored?: number; p50_ms: number; p95_ms: number; p99_ms: number; success: number; interrupted: number; hung_up: number; wer: number; bands: number[]; conversations: number; errors: number }>
  /** per `component#step`, latencies (ms) in time order with their conversations; lower bounds included */
  componentSamples: ReadonlyMap<string, StepSeries>
  /** per step, the experienced response latencies (ms) in time order with their conversations */
  turnSamples: ReadonlyMap<number, StepSeries>
  /** a sample of answered turns per step with their hops, for critical paths */
  paths: ReadonlyArray<TurnPath & { step: number }>
  /** per step, a sample of per-turn word error rates in time order with their conversations */
  werSamples?: ReadonlyMap<number, StepSeries>
  /** spike runs: the recovery step in time slices, and a slice's length in seconds of the profile */
  recovery?: { buckets: TimelineBucket[]; bucketS: number }
  /** the run's resource samples, per series in time buckets */
  resources?: readonly SampledSeries[]
  /** soak runs: answered turns over time (seconds since the first, response ms) */
  responseOverTime?: readonly Point[]
  /** the live alerts' state changes */
  alerts?: readonly AlertChangeRow[]
  /** a run without a load axis: its steps are time windows of this many seconds (load: hops per second) */
  windowS?: number
}

export interface SloBreach {
  step: number
  load: number
  slo: string
  value: number
  limit: number
}

/** A series' degradation point as the verdict states it: the rise, its 95 % interval and its Holm-adjusted p. */
export interface DegradedAt {
  step: number
  load: number
  p95_ms: number
  ratio: number
  /** p95 − the baseline's, ms, with its 95 % interval */
  rise_ms: number
  interval_ms: [number, number]
  /** one-sided p after Holm's adjustment over every step × series judged in the analysis */
  p: number
}

export interface Analysis {
  run: RunData['run']
  /** the headline: what held, what degraded first, where it failed — or that the evidence cannot tell, and why */
  verdict: string
  /** how far the evidence carries the verdict: `cannot_tell` when it says nothing about what degraded first */
  confidence: 'supported' | 'partial' | 'cannot_tell'
  /** the baseline every step is judged against: the lowest valid loads */
  baseline: { steps: number[]; load: number } | null
  /** steps that are no evidence, and why */
  invalid_steps: Array<{ step: number; load: number; reason: string }>
  /** a run without a load axis (the proxy alone in front of real traffic): its steps are time windows, their load hops/s */
  time_axis: { window_s: number; hops: number } | null
  /** the first component to degrade; `signal` says whether its latency or (STT) its word error rate gave it away */
  /** `baseline_steps`: the steps its own series was judged against (a component can have samples where turns had too few) */
  first_degraded: ({ component: string; step: number; load: number; signal: 'latency' | 'wer'; baseline_steps: number[] } & Partial<Pick<DegradedAt, 'rise_ms' | 'interval_ms' | 'p' | 'ratio'>>) | undefined
  /** other components whose degradation starts at the same step as the first's */
  degraded_together: string[]
  /** where the STT's word error rate degraded (mean up more than 0.05, significantly, sustained) */
  wer_degraded_at: { step: number; load: number; wer: number; baseline: number; p: number } | null
  degraded_at: Record<string, DegradedAt | null>
  turn_degraded_at: DegradedAt | null
  capacity: { load: number; step: number; limited_by: string | undefined; conversations_per_hour: number | null } | undefined
  /** the first load at which failures pass the limits (errors or hang-ups above 5 % of turns), and their kinds */
  failure: { step: number; load: number; error_rate: number; hang_up_rate: number; kinds: Record<string, number> } | null
  /** spike runs: how long recovery took after the spike, and whether it degraded gracefully */
  spike: SpikeFindings | null
  /** the growth in mean response latency from the baseline to the degraded steps, split by per-turn critical paths */
  attribution: (Attribution & { baseline_steps: number[]; degraded_steps: number[] }) | null
  breaches: SloBreach[]
  /** the objectives the run was judged against */
  slos: Slos
  /** memory, fd and thread trends per sampled target, and the steps beyond the headroom rules */
  resources: ResourceReport | null
  /** soak runs: the trend of the median response latency over the run, ms per hour of wall-clock time */
  latency_creep: (Omit<Trend, 'hours_to_limit'> & { span_s: number }) | null
  /** the live alerts' state changes during the run */
  alerts: NonNullable<RunData['alerts']>
  steps: Array<{
    step: number
    phase: string
    load: number
    achieved: number
    generator_limited: boolean
    /** why the step is no evidence; absent when it is valid */
    invalid?: string
    turns: RunData['turns'][number] | undefined
    /** `censored`: hops whose latency is a lower bound (cut short), as a share of those with a latency */
    components: Record<string, { n: number; p50_ms: number; p95_ms: number; p99_ms: number; error_rate: number; censored_share: number; status: string }>
    errors_by_kind: Record<string, number>
    /** p95 of the traced turns' network time (their response time no hop covers), ms */
    network_p95_ms: number | null
  }>
}

function verdictOf(d: Degradation): DegradedAt | null {
  const at = d.degradedAt
  return at === undefined ? null : { step: at.step, load: at.load, p95_ms: at.value, ratio: at.ratio, rise_ms: at.difference, interval_ms: at.interval, p: at.p_adjusted }
}

/**
 * Why a step is no evidence: its recorded reasons (every shard's), a shard that recorded nothing in it or began it
 * late, or (runs recorded before reasons were) its generator flag; undefined for a valid step.
 */
export function invalidOf(step: RunData['steps'][number]): string | undefined {
  const shards = step.shards !== undefined ? shardProblem({ shards: step.shards, start_us: step.start_us ?? 0, end_us: step.end_us ?? 0 }) : undefined
  // every shard's reasons, each once (three shards on one busy host report the same saturation)
  const reasons = [...new Set([...(step.invalid_reason ?? '').split('; '), shards ?? ''].filter((r) => r !== ''))]
  if (reasons.length > 0) return reasons.join('; ')
  if (step.generator_limited === 1) return 'the load generator was the limit'
  return undefined
}

/** An error's key in the tallies: component and kind, and the status of an answered error (503 sheds load, 500 fails). */
function errorKey(e: RunData['errors'][number]): string {
  return `${e.component}_${e.error_kind}${e.error_kind === 'upstream_status' && e.status !== undefined && e.status > 0 ? `_${e.status}` : ''}`
}

function errorsAt(data: RunData, step: number): Record<string, number> {
  const kinds: Record<string, number> = {}
  for (const e of data.errors.filter((x) => x.step === step)) kinds[errorKey(e)] = (kinds[errorKey(e)] ?? 0) + e.n
  return kinds
}

function toStepSamples(steps: ReadonlyArray<RunData['steps'][number]>, series: (step: number) => StepSeries | undefined): StepSamples[] {
  return steps.map((s) => {
    const x = series(s.step)
    const invalid = invalidOf(s)
    return { step: s.step, load: s.target_load, samples: x?.values ?? [], ...(x !== undefined ? { clusters: x.clusters } : {}), ...(invalid !== undefined ? { invalid } : {}) }
  })
}

/** Breaches of the SLOs at a step, judged on the exact percentiles ClickHouse computed (steps with no turns say nothing). */
function breachesAt(data: RunData, step: { step: number; target_load: number }, slos: Slos, minSamples: number): SloBreach[] {
  const out: SloBreach[] = []
  const turns = data.turns.find((t) => t.step === step.step)
  // a p95 of fewer turns than a percentile needs is not judged against an SLO either; a run without turns (time
  // windows of the proxy's hops) is judged on its components alone
  if (data.windowS === undefined && (turns === undefined || turns.turns < minSamples)) return out
  if (turns !== undefined && turns.turns >= minSamples) {
    if (turns.p95_ms > slos.response_p95_ms) out.push({ step: step.step, load: step.target_load, slo: 'response p95', value: turns.p95_ms, limit: slos.response_p95_ms })
    const success = turns.success / turns.turns
    if (success < slos.success_min) out.push({ step: step.step, load: step.target_load, slo: 'success', value: success, limit: slos.success_min })
  }
  for (const [component, limit] of Object.entries(slos.components_p95_ms)) {
    if (component === 'network') continue
    const c = data.components.find((x) => x.step === step.step && x.component === component)
    if (c !== undefined && c.n >= minSamples && c.p95_ms > limit) out.push({ step: step.step, load: step.target_load, slo: `${component} p95`, value: c.p95_ms, limit })
  }
  // network: what no hop covers on each traced turn's critical path
  const networkLimit = slos.components_p95_ms.network
  const network = networkMs(data, step.step)
  if (networkLimit !== undefined && network.length >= minSamples && quantile(network, 0.95) > networkLimit) out.push({ step: step.step, load: step.target_load, slo: 'network p95', value: quantile(network, 0.95), limit: networkLimit })
  return out
}

/** Per traced turn of a step, the ms of its response time no hop covers. */
function networkMs(data: RunData, step: number): number[] {
  return data.paths.filter((p) => p.step === step).map((p) => (criticalPath(p).network ?? 0) / 1000)
}

/**
 * The analysis of one run, from its aggregates: each component's and the turn's degradation point (sustained,
 * significant, beyond tolerance), the first component to degrade, SLO breaches per step, and the capacity — the
 * highest load at which every SLO held at it and at every load below.
 */
export function analyzeRun(data: RunData, slos: Slos = DEFAULT_SLOS, options: DegradationOptions = DEGRADATION_DEFAULTS): Analysis {
  // a step a saturated proxy recorded is no evidence, as one a saturated generator drove is not
  const saturated = proxySaturation(data.alerts, data.steps)
  const steps = [...data.steps]
    .map((s) => (saturated.has(s.step) ? { ...s, invalid_reason: [s.invalid_reason ?? '', saturated.get(s.step) as string].filter((r) => r !== '').join('; ') } : s))
    .sort((a, b) => a.step - b.step)
  const invalid = new Map(steps.flatMap((s) => {
    const reason = invalidOf(s)
    return reason === undefined ? [] : [[s.step, reason] as const]
  }))
  const components = [...new Set(data.components.map((c) => c.component))].sort()
  // every series is judged in one family, so the chance of any false alarm in this analysis is held at alpha
  const family = [
    ...components.map((component) => prepareSeries(component, toStepSamples(steps, (step) => data.componentSamples.get(`${component}#${step}`)), options)),
    prepareSeries('response', toStepSamples(steps, (step) => data.turnSamples.get(step)), options),
    ...(data.werSamples !== undefined ? [prepareSeries('wer', toStepSamples(steps, (step) => data.werSamples?.get(step)), { ...werOptions(), seed: options.seed, iterations: options.iterations })] : []),
  ]
  const judged = judgeFamily(family, options.alpha)
  const degradations = new Map(components.map((c, i) => [c, judged[i] as Degradation]))
  const turnDegradation = judged[components.length] as Degradation
  const werDegradation = data.werSamples !== undefined ? judged[components.length + 1] : undefined

  // first to degrade: the earliest step; at the same step, the larger relative rise (the others are named with it)
  let first: Analysis['first_degraded']
  let firstVerdict: StepVerdict | undefined
  for (const [component, d] of degradations) {
    const at = d.degradedAt
    if (at === undefined) continue
    if (first === undefined || at.step < first.step || (at.step === first.step && at.ratio > (firstVerdict?.ratio ?? 0))) {
      first = { component, step: at.step, load: at.load, signal: 'latency', baseline_steps: d.baseline?.steps ?? [], ratio: at.ratio, rise_ms: at.difference, interval_ms: at.interval, p: at.p_adjusted }
      firstVerdict = at
    }
  }
  // the STT can degrade in quality before (or without) latency: a word error rate that climbs with load
  const werAt = werDegradation?.degradedAt
  if (werAt !== undefined && (first === undefined || werAt.step < first.step)) first = { component: 'stt', step: werAt.step, load: werAt.load, signal: 'wer', baseline_steps: werDegradation?.baseline?.steps ?? [], p: werAt.p_adjusted }
  const together = first === undefined ? [] : [...degradations].filter(([c, d]) => c !== first?.component && d.degradedAt?.step === first?.step).map(([c]) => c)

  const breaches = steps.filter((s) => !invalid.has(s.step)).flatMap((s) => breachesAt(data, s, slos, options.minSamples))
  // capacity: the highest valid load at which every SLO holds, there and at every valid judged load below it
  let capacity: Analysis['capacity']
  for (const s of steps) {
    const turns = data.turns.find((t) => t.step === s.step)
    if (turns === undefined || turns.turns < options.minSamples || invalid.has(s.step)) continue
    const here = breaches.filter((b) => b.step === s.step)
    if (here.length > 0) {
      if (capacity !== undefined) capacity.limited_by = here.map((b) => b.slo).join(', ')
      break
    }
    capacity = { load: s.target_load, step: s.step, limited_by: undefined, conversations_per_hour: conversationsPerHour(s, data.run.time_scale ?? 1) }
  }

  // the failure mode: where errors or hang-ups pass 5 % of turns, and what kinds of error they are
  let failure: Analysis['failure'] = null
  for (const s of steps) {
    const t = data.turns.find((x) => x.step === s.step)
    if (t === undefined || t.turns < 20 || invalid.has(s.step)) continue
    const errorRate = t.errors / t.turns
    const hangUpRate = t.hung_up / t.turns
    if (errorRate > 0.05 || hangUpRate > 0.05) {
      failure = { step: s.step, load: s.target_load, error_rate: errorRate, hang_up_rate: hangUpRate, kinds: errorsAt(data, s.step) }
      break
    }
  }

  let attribution: Analysis['attribution'] = null
  if (turnDegradation.baseline !== undefined && turnDegradation.degradedAt !== undefined) {
    const baselineSteps = turnDegradation.baseline.steps
    const degradedSteps = turnDegradation.steps.filter((v) => v.status === 'degraded').map((v) => v.step)
    const a = attribute(
      data.paths.filter((p) => baselineSteps.includes(p.step)),
      data.paths.filter((p) => degradedSteps.includes(p.step)),
    )
    if (a !== undefined) attribution = { ...a, baseline_steps: baselineSteps, degraded_steps: degradedSteps }
  }

  let spike: SpikeFindings | null = null
  const baselineStep = steps.find((s) => s.phase === 'baseline')
  const spikeStep = steps.find((s) => s.phase === 'spike')
  if (baselineStep !== undefined && spikeStep !== undefined && data.recovery !== undefined) {
    const base = data.turns.find((t) => t.step === baselineStep.step)
    const peak = data.turns.find((t) => t.step === spikeStep.step)
    const errors = errorsAt(data, spikeStep.step)
    spike = spikeFindings({
      baseline: { p95_ms: base?.p95_ms ?? 0, turns: base?.turns ?? 0, failed: (base?.errors ?? 0) + (base?.hung_up ?? 0) },
      spike: { hung_up: peak?.hung_up ?? 0, errors },
      recovery: data.recovery.buckets,
      bucketS: data.recovery.bucketS,
    })
  }

  const baseline = turnDegradation.baseline ?? [...degradations.values()].find((d) => d.baseline !== undefined)?.baseline
  const analysis: Analysis = {
    run: data.run,
    verdict: '',
    confidence: 'supported',
    baseline: baseline === undefined ? null : { steps: baseline.steps, load: baseline.load },
    invalid_steps: steps.filter((s) => invalid.has(s.step)).map((s) => ({ step: s.step, load: s.target_load, reason: invalid.get(s.step) as string })),
    time_axis: data.windowS === undefined ? null : { window_s: data.windowS, hops: data.components.reduce((sum, c) => sum + c.hops, 0) },
    first_degraded: first,
    degraded_together: together,
    degraded_at: Object.fromEntries(components.map((c) => [c, verdictOf(degradations.get(c) as Degradation)])),
    wer_degraded_at: werAt === undefined || werDegradation?.baseline === undefined ? null : { step: werAt.step, load: werAt.load, wer: werAt.value, baseline: werDegradation.baseline.value, p: werAt.p_adjusted },
    turn_degraded_at: verdictOf(turnDegradation),
    capacity,
    failure,
    spike,
    attribution,
    breaches,
    slos,
    resources: data.resources !== undefined && data.resources.length > 0 ? resourceReport(data.resources, steps.filter((s) => s.start_us !== undefined && s.end_us !== undefined).map((s) => ({ step: s.step, load: s.target_load, start_us: s.start_us as number, end_us: s.end_us as number }))) : null,
    latency_creep: latencyCreep(data.responseOverTime),
    alerts: [...(data.alerts ?? [])],
    steps: steps.map((s) => {
      const reason = invalid.get(s.step)
      return {
        step: s.step,
        phase: s.phase,
        load: s.target_load,
        achieved: s.achieved_load,
        generator_limited: s.generator_limited === 1,
        ...(reason !== undefined ? { invalid: reason } : {}),
        turns: data.turns.find((t) => t.step === s.step),
        components: Object.fromEntries(
          data.components
            .filter((c) => c.step === s.step)
            .map((c) => [c.component, { n: c.n, p50_ms: c.p50_ms, p95_ms: c.p95_ms, p99_ms: c.p99_ms, error_rate: c.hops > 0 ? c.errors / c.hops : 0, censored_share: c.n > 0 ? (c.censored ?? 0) / c.n : 0, status: degradations.get(c.component)?.steps.find((v) => v.step === s.step)?.status ?? 'ok' }]),
        ),
        errors_by_kind: errorsAt(data, s.step),
        network_p95_ms: (() => {
          const n = networkMs(data, s.step)
          return n.length > 0 ? quantile(n, 0.95) : null
        })(),
      }
    }),
  }
  const told = headline(analysis, options.minSamples)
  analysis.verdict = told.text
  analysis.confidence = told.confidence
  return analysis
}

/** The median response latency's trend over a soak: a queue or a cache that slowly fills shows as creep. */
function latencyCreep(all: readonly Point[] | undefined): Analysis['latency_creep'] {
  if (all === undefined || all.length === 0) return null
  // as for memory: the warm-up left out, and too short a soak says nothing
  const { points, span } = afterWarmUp(all)
  if (points.length < 50 || span < MIN_TREND_SPAN_S) return null
  const { hours_to_limit: _, ...trend } = trendOf(points, { envelope: 'median' })
  return { ...trend, span_s: span }
}

/**
 * Conversations a step's load carries per hour of real time: those started in it over its length, the time scale
 * undone (a compressed run starts F times as many per wall second). Closed-model steps only mean this at their level.
 */
function conversationsPerHour(step: RunData['steps'][number], timeScale: number): number | null {
  if (step.started === undefined || step.start_us === undefined || step.end_us === undefined || step.end_us <= step.start_us) return null
  return (step.started / ((step.end_us - step.start_us) / 1e6)) * 3600 / timeScale
}
