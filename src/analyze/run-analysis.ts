import { DESIGN_SLOS } from '../slos.js'
import type { AlertChangeRow } from '../store/analysis.js'
import { afterWarmUp, describeTrend, leaks, MIN_TREND_SPAN_S, resourceReport, type ResourceReport, type SampledSeries } from './resources.js'
import { trendOf, type Point, type Trend } from './trend.js'
import { attribute, criticalPath, type Attribution, type TurnPath } from './attribution.js'
import { quantile } from './stats.js'
import { spikeFindings, type SpikeFindings, type TimelineBucket } from './spike.js'
import { DEGRADATION_DEFAULTS, findDegradation, werOptions, type Degradation, type DegradationOptions, type StepSamples } from './degradation.js'

/** Service-level objectives: DESIGN.md's industry bands unless overridden. */
export interface Slos {
  response_p95_ms: number
  components_p95_ms: Record<string, number>
  success_min: number
}

export const DEFAULT_SLOS: Slos = { ...DESIGN_SLOS, components_p95_ms: { ...DESIGN_SLOS.components_p95_ms } }

/** What the store gives the analyzer: aggregates per step, and bounded samples for the rank tests. */
export interface RunData {
  run: { run_id: string; name: string; source: string; time_scale?: number }
  steps: Array<{ step: number; phase: string; target_load: number; achieved_load: number; generator_limited: number; start_us?: number; end_us?: number; started?: number }>
  components: Array<{ step: number; component: string; hops: number; n: number; p50_ms: number; p95_ms: number; p99_ms: number; errors: number }>
  errors: Array<{ step: number; component: string; error_kind: string; n: number }>
  turns: Array<{ step: number; turns: number; answered: number; p50_ms: number; p95_ms: number; p99_ms: number; success: number; interrupted: number; hung_up: number; wer: number; bands: number[]; conversations: number; errors: number }>
  componentSamples: ReadonlyMap<string, number[]>
  turnSamples: ReadonlyMap<number, number[]>
  /** a sample of answered turns per step with their hops, for critical paths */
  paths: ReadonlyArray<TurnPath & { step: number }>
  /** per step, a sample of per-turn word error rates */
  werSamples?: ReadonlyMap<number, number[]>
  /** spike runs: the recovery step in time slices, and a slice's length in seconds of the profile */
  recovery?: { buckets: TimelineBucket[]; bucketS: number }
  /** the run's resource samples, per series in time buckets */
  resources?: readonly SampledSeries[]
  /** soak runs: answered turns over time (seconds since the first, response ms) */
  responseOverTime?: readonly Point[]
  /** the live alerts' state changes */
  alerts?: readonly AlertChangeRow[]
}

export interface SloBreach {
  step: number
  load: number
  slo: string
  value: number
  limit: number
}

export interface Analysis {
  run: RunData['run']
  /** the headline: what held, what degraded first, where it failed */
  verdict: string
  /** the first component to degrade; `signal` says whether its latency or (STT) its word error rate gave it away */
  first_degraded: { component: string; step: number; load: number; signal: 'latency' | 'wer' } | undefined
  /** where the STT's word error rate degraded (mean up more than 0.05, significantly, sustained) */
  wer_degraded_at: { step: number; load: number; wer: number; baseline: number; p: number } | null
  degraded_at: Record<string, { step: number; load: number; p95_ms: number; ratio: number; p: number } | null>
  turn_degraded_at: { step: number; load: number; p95_ms: number; ratio: number; p: number } | null
  capacity: { load: number; step: number; limited_by: string | undefined; conversations_per_hour: number | null } | undefined
  /** the first load at which failures pass the limits (errors or hang-ups above 5 % of turns), and their kinds */
  failure: { step: number; load: number; error_rate: number; hang_up_rate: number; kinds: Record<string, number> } | null
  /** spike runs: how long recovery took after the spike, and whether it degraded gracefully */
  spike: SpikeFindings | null
  /** the growth in mean response latency from the baseline to the degraded steps, split by per-turn critical paths */
  attribution: (Attribution & { baseline_steps: number[]; degraded_steps: number[] }) | null
  breaches: SloBreach[]
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
    turns: RunData['turns'][number] | undefined
    components: Record<string, { n: number; p50_ms: number; p95_ms: number; p99_ms: number; error_rate: number; status: string }>
    errors_by_kind: Record<string, number>
    /** p95 of the traced turns' network time (their response time no hop covers), ms */
    network_p95_ms: number | null
  }>
}

function verdictOf(d: Degradation): { step: number; load: number; p95_ms: number; ratio: number; p: number } | null {
  return d.degradedAt === undefined ? null : { step: d.degradedAt.step, load: d.degradedAt.load, p95_ms: d.degradedAt.value, ratio: d.degradedAt.ratio, p: d.degradedAt.p }
}

/** Breaches of the SLOs at a step, judged on the exact percentiles ClickHouse computed (steps with no turns say nothing). */
function breachesAt(data: RunData, step: { step: number; target_load: number }, slos: Slos): SloBreach[] {
  const out: SloBreach[] = []
  const turns = data.turns.find((t) => t.step === step.step)
  if (turns === undefined || turns.turns === 0) return out
  if (turns.p95_ms > slos.response_p95_ms) out.push({ step: step.step, load: step.target_load, slo: 'response p95', value: turns.p95_ms, limit: slos.response_p95_ms })
  const success = turns.success / turns.turns
  if (success < slos.success_min) out.push({ step: step.step, load: step.target_load, slo: 'success', value: success, limit: slos.success_min })
  for (const [component, limit] of Object.entries(slos.components_p95_ms)) {
    if (component === 'network') continue
    const c = data.components.find((x) => x.step === step.step && x.component === component)
    if (c !== undefined && c.n > 0 && c.p95_ms > limit) out.push({ step: step.step, load: step.target_load, slo: `${component} p95`, value: c.p95_ms, limit })
  }
  // network: what no hop covers on each traced turn's critical path
  const networkLimit = slos.components_p95_ms.network
  const network = networkMs(data, step.step)
  if (networkLimit !== undefined && network.length >= 20 && quantile(network, 0.95) > networkLimit) out.push({ step: step.step, load: step.target_load, slo: 'network p95', value: quantile(network, 0.95), limit: networkLimit })
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
  const steps = [...data.steps].sort((a, b) => a.step - b.step)
  const limited = new Set(steps.filter((s) => s.generator_limited === 1).map((s) => s.step))
  const components = [...new Set(data.components.map((c) => c.component))].sort()
  const degradations = new Map<string, Degradation>()
  for (const component of components) {
    const series: StepSamples[] = steps.map((s) => ({ step: s.step, load: s.target_load, samples: data.componentSamples.get(`${component}#${s.step}`) ?? [], generatorLimited: limited.has(s.step) }))
    degradations.set(component, findDegradation(series, options))
  }
  const turnDegradation = findDegradation(steps.map((s) => ({ step: s.step, load: s.target_load, samples: data.turnSamples.get(s.step) ?? [], generatorLimited: limited.has(s.step) })), options)

  // first to degrade: the earliest step; at the same step, the larger rise
  let first: Analysis['first_degraded']
  let firstRatio = 0
  for (const [component, d] of degradations) {
    const at = d.degradedAt
    if (at === undefined) continue
    if (first === undefined || at.step < first.step || (at.step === first.step && at.ratio > firstRatio)) {
      first = { component, step: at.step, load: at.load, signal: 'latency' }
      firstRatio = at.ratio
    }
  }
  // the STT can degrade in quality before (or without) latency: a word error rate that climbs with load
  const werDegradation = data.werSamples === undefined ? undefined : findDegradation(steps.map((s) => ({ step: s.step, load: s.target_load, samples: data.werSamples?.get(s.step) ?? [], generatorLimited: limited.has(s.step) })), werOptions())
  const werAt = werDegradation?.degradedAt
  if (werAt !== undefined && (first === undefined || werAt.step < first.step)) first = { component: 'stt', step: werAt.step, load: werAt.load, signal: 'wer' }

  const breaches = steps.flatMap((s) => breachesAt(data, s, slos))
  let capacity: Analysis['capacity']
  for (const s of steps) {
    const turns = data.turns.find((t) => t.step === s.step)
    if (turns === undefined || turns.turns === 0 || limited.has(s.step)) continue
    const here = breaches.filter((b) => b.step === s.step)
    if (here.length > 0) {
      if (capacity !== undefined) capacity.limited_by = here.map((b) => b.slo).join(', ')
      else capacity = undefined
      break
    }
    capacity = { load: s.target_load, step: s.step, limited_by: undefined, conversations_per_hour: conversationsPerHour(s, data.run.time_scale ?? 1) }
  }

  // the failure mode: where errors or hang-ups pass 5 % of turns, and what kinds of error they are
  let failure: Analysis['failure'] = null
  for (const s of steps) {
    const t = data.turns.find((x) => x.step === s.step)
    if (t === undefined || t.turns < 20 || limited.has(s.step)) continue
    const errorRate = t.errors / t.turns
    const hangUpRate = t.hung_up / t.turns
    if (errorRate > 0.05 || hangUpRate > 0.05) {
      const kinds: Record<string, number> = {}
      for (const e of data.errors.filter((x) => x.step === s.step)) kinds[`${e.component}_${e.error_kind}`] = (kinds[`${e.component}_${e.error_kind}`] ?? 0) + e.n
      failure = { step: s.step, load: s.target_load, error_rate: errorRate, hang_up_rate: hangUpRate, kinds }
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
    const errors: Record<string, number> = {}
    for (const e of data.errors.filter((x) => x.step === spikeStep.step)) errors[`${e.component}_${e.error_kind}`] = (errors[`${e.component}_${e.error_kind}`] ?? 0) + e.n
    spike = spikeFindings({
      baseline: { p95_ms: base?.p95_ms ?? 0, turns: base?.turns ?? 0, failed: (base?.errors ?? 0) + (base?.hung_up ?? 0) },
      spike: { hung_up: peak?.hung_up ?? 0, errors },
      recovery: data.recovery.buckets,
      bucketS: data.recovery.bucketS,
    })
  }

  const analysis: Analysis = {
    run: data.run,
    verdict: '',
    first_degraded: first,
    degraded_at: Object.fromEntries(components.map((c) => [c, verdictOf(degradations.get(c) as Degradation)])),
    wer_degraded_at: werAt === undefined || werDegradation?.baseline === undefined ? null : { step: werAt.step, load: werAt.load, wer: werAt.value, baseline: werDegradation.baseline.value, p: werAt.p },
    turn_degraded_at: verdictOf(turnDegradation),
    capacity,
    failure,
    spike,
    attribution,
    breaches,
    resources: data.resources !== undefined && data.resources.length > 0 ? resourceReport(data.resources, steps.filter((s) => s.start_us !== undefined && s.end_us !== undefined).map((s) => ({ step: s.step, load: s.target_load, start_us: s.start_us as number, end_us: s.end_us as number }))) : null,
    latency_creep: latencyCreep(data.responseOverTime),
    alerts: [...(data.alerts ?? [])],
    steps: steps.map((s) => {
      const errorsByKind: Record<string, number> = {}
      for (const e of data.errors.filter((x) => x.step === s.step)) errorsByKind[`${e.component}_${e.error_kind}`] = (errorsByKind[`${e.component}_${e.error_kind}`] ?? 0) + e.n
      return {
        step: s.step,
        phase: s.phase,
        load: s.target_load,
        achieved: s.achieved_load,
        generator_limited: s.generator_limited === 1,
        turns: data.turns.find((t) => t.step === s.step),
        components: Object.fromEntries(
          data.components
            .filter((c) => c.step === s.step)
            .map((c) => [c.component, { n: c.n, p50_ms: c.p50_ms, p95_ms: c.p95_ms, p99_ms: c.p99_ms, error_rate: c.hops > 0 ? c.errors / c.hops : 0, status: degradations.get(c.component)?.steps.find((v) => v.step === s.step)?.status ?? 'ok' }]),
        ),
        errors_by_kind: errorsByKind,
        network_p95_ms: (() => {
          const n = networkMs(data, s.step)
          return n.length > 0 ? quantile(n, 0.95) : null
        })(),
      }
    }),
  }
  analysis.verdict = headline(analysis)
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

function headline(a: Analysis): string {
  const parts: string[] = []
  if (a.capacity !== undefined) {
    const held = a.steps.find((s) => s.step === a.capacity?.step)?.turns
    parts.push(`The system handles ${a.capacity.load} concurrent conversations with response p95 ${held?.p95_ms.toFixed(0) ?? '?'} ms`)
  } else if (a.steps.length > 0) {
    parts.push(`Every SLO was already broken at the lowest load (${a.steps[0]?.load})`)
  }
  if (a.first_degraded !== undefined) {
    const share = a.attribution?.components[a.first_degraded.component]?.share
    if (a.first_degraded.signal === 'wer' && a.wer_degraded_at !== null) parts.push(`STT degrades first, at ${a.first_degraded.load}: its word error rate rises from ${a.wer_degraded_at.baseline.toFixed(2)} to ${a.wer_degraded_at.wer.toFixed(2)}`)
    else parts.push(`${a.first_degraded.component.toUpperCase()} degrades first, at ${a.first_degraded.load}${share !== undefined && a.attribution !== null && a.attribution.growth_ms > 0 ? ` (${Math.round(share * 100)} % of the response-time growth)` : ''}`)
  } else parts.push('no component degraded significantly')
  if (a.capacity?.limited_by !== undefined) {
    const next = a.steps.find((s) => s.step > (a.capacity?.step ?? 0))
    const slos = a.capacity.limited_by.split(', ')
    parts.push(`at ${next?.load ?? '?'} ${slos.length > 1 ? `${slos.join(' and ')} break their SLOs` : `${slos[0] ?? ''} breaks its SLO`}`)
  }
  if (a.spike !== null) parts.push(`after the spike it degraded ${a.spike.degraded}${a.spike.recovery_s !== null ? ` and recovered in ${Math.round(a.spike.recovery_s)} s` : ' and had not recovered by the end of the run'}`)
  if (a.failure !== null) {
    const kinds = Object.entries(a.failure.kinds).sort((x, y) => y[1] - x[1]).slice(0, 2).map(([k]) => k)
    parts.push(`at ${a.failure.load} it fails (${a.failure.error_rate > 0.05 ? `${(a.failure.error_rate * 100).toFixed(0)} % of turns fail${kinds.length > 0 ? `: ${kinds.join(', ')}` : ''}` : `${(a.failure.hang_up_rate * 100).toFixed(0)} % of turns end in a hang-up`})`)
  }
  for (const t of leaks(a.resources)) parts.push(`${t.target}'s memory is rising ${describeTrend(t).replace(/^rising /, '')}`)
  const cpu = a.resources?.saturation.find((x) => x.resource === 'cpu')
  if (cpu !== undefined) parts.push(`${cpu.target}'s CPU is at ${Math.round(cpu.share * 100)} % of its ${cpu.limit} core${cpu.limit === 1 ? '' : 's'} at ${cpu.load}`)
  if (a.latency_creep?.verdict === 'rising') parts.push(`response latency creeps up ${a.latency_creep.slope_per_hour.toFixed(0)} ms/h over the soak`)
  return `${parts.join('; ')}.`
}
