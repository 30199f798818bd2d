import { describeTrend, leaks, soakMemory } from './resources.js'
import type { Analysis } from './run-analysis.js'

/**
 * The analysis's headline, built from its evidence only: what held, what degraded first and how surely, or that the
 * run cannot tell and why; for a run without a load axis, how each component moved over time.
 */
/** "3–5" for consecutive steps, "1, 4" otherwise. */
function stepList(steps: readonly number[]): string {
  const out: string[] = []
  for (let i = 0; i < steps.length; ) {
    let j = i
    while (j + 1 < steps.length && (steps[j + 1] as number) === (steps[j] as number) + 1) j++
    out.push(j > i ? `${steps[i]}–${steps[j]}` : String(steps[i]))
    i = j + 1
  }
  return out.join(', ')
}

const RERUN_BUSY = 'rerun with fewer conversations, a lower --time-scale, or the load generator on another machine'
const RERUN_SHARDS = 'rerun with every shard started on time (the same --run-id and --start-at on each)'
const RERUN_PROXY = 'rerun with the proxy on a less busy host, or one proxy per agent pod, or a ClickHouse server store'

/**
 * What to do about invalid steps: their shards when a shard was missing or late, the proxy when it was saturated,
 * else the machine that was busy.
 */
function rerun(invalid: Analysis['invalid_steps']): string {
  if (invalid.length > 0 && invalid.every((s) => /^shards? .*(recorded nothing|began it)/.test(s.reason))) return RERUN_SHARDS
  if (invalid.length > 0 && invalid.every((s) => /^the proxy .* was saturated/.test(s.reason))) return RERUN_PROXY
  return RERUN_BUSY
}

/** What the invalid steps were, for a headline: "steps 3–5 were not valid (the host's CPU was saturated (98 %))". */
function invalidSummary(invalid: Analysis['invalid_steps']): string {
  const reasons = [...new Set(invalid.map((s) => s.reason))]
  return `step${invalid.length > 1 ? 's' : ''} ${stepList(invalid.map((s) => s.step))} ${invalid.length > 1 ? 'were' : 'was'} not valid (${reasons.slice(0, 2).join('; ')}${reasons.length > 2 ? '; …' : ''})`
}

const ms = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(0)} ms`

/** mm:ss from the run's first hop to a window's start. */
function clockOf(a: Analysis, step: number): string {
  const s = Math.round(step * (a.time_axis?.window_s ?? 0))
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
}

/** The headline of a run with no load axis: how each component's latency moved over time, against its first windows. */
function windowHeadline(a: Analysis, minSamples: number): { text: string; confidence: Analysis['confidence'] } {
  const axis = a.time_axis as NonNullable<Analysis['time_axis']>
  const intro = `No load axis: the proxy recorded ${axis.hops} hops without a load generator, judged over time in ${a.steps.length} windows of ${axis.window_s} s against the first`
  const judged = a.steps.filter((s) => Object.values(s.components).some((c) => c.status === 'ok' || c.status === 'degraded' || c.status === 'blip'))
  if (a.baseline === null || judged.length === 0) {
    return { text: `${intro}; cannot tell how latency changed: no later window had the ${minSamples} hops of one component a p95 needs (use a longer --window, or record longer).`, confidence: 'cannot_tell' }
  }
  const parts = [intro]
  const f = a.first_degraded
  if (f !== undefined) {
    const window = a.steps.find((s) => s.step === f.step)
    parts.push(`${f.component.toUpperCase()} degrades first, from ${clockOf(a, f.step)} after the first hop (${window?.load ?? '?'} hops/s): p95 ${ms(f.rise_ms ?? 0)} (95 % interval ${ms(f.interval_ms?.[0] ?? 0)} to ${ms(f.interval_ms?.[1] ?? 0)}) against ${clockOf(a, a.baseline.steps[0] ?? 0)}–${clockOf(a, (a.baseline.steps[a.baseline.steps.length - 1] ?? 0) + 1)}, p ${(f.p ?? 1) < 0.0001 ? '< 0.0001' : (f.p ?? 1).toFixed(4)}`)
  } else parts.push('no component degraded over time')
  const firstBreach = a.breaches[0]
  if (firstBreach !== undefined) parts.push(`${firstBreach.slo} breaks its SLO from ${clockOf(a, firstBreach.step)} (${firstBreach.value.toFixed(0)} ms > ${firstBreach.limit} ms)`)
  const unjudged = [...new Set(a.steps.flatMap((s) => Object.entries(s.components).filter(([, c]) => c.status === 'too_few').map(([name]) => name)))]
  if (unjudged.length > 0) parts.push(`too few hops to judge ${unjudged.map((c) => c.toUpperCase()).join(', ')} in some windows`)
  return { text: `${parts.join('; ')}.`, confidence: unjudged.length > 0 ? 'partial' : 'supported' }
}

/** The headline, built from the evidence: what held, what degraded first and how surely, or that it cannot tell and why. */
export function headline(a: Analysis, minSamples: number): { text: string; confidence: Analysis['confidence'] } {
  if (a.time_axis !== null) return windowHeadline(a, minSamples)
  const parts: string[] = []
  // a step is judged when its turns or any component had the samples a p95 needs (a component can be judged on its
  // hops where the turns alone are too few: a slow TTS makes long turns)
  const judged = a.steps.filter((s) => s.invalid === undefined && ((s.turns?.turns ?? 0) >= minSamples || Object.values(s.components).some((c) => c.status === 'ok' || c.status === 'degraded' || c.status === 'blip')))
  // one load level (a soak, an observed proxy-only run): no load axis to degrade along; its trends still speak
  const singleLevel = a.steps.length > 0 && new Set(a.steps.map((s) => s.load)).size === 1
  // nothing beyond the baseline was judged: there is nothing to compare it with (what else the run shows still follows)
  const cannotTell = !singleLevel && (a.baseline === null || judged.every((s) => a.baseline?.steps.includes(s.step) === true))
  if (cannotTell) {
    const why = a.invalid_steps.length > 0 ? invalidSummary(a.invalid_steps) : `no step beyond the baseline had the ${minSamples} turns a p95 needs`
    parts.push(`Cannot tell: ${why}; ${a.invalid_steps.length > 0 ? rerun(a.invalid_steps) : 'run longer steps (or keep --min-turns-per-step on)'}`)
  } else {
    const highest = (judged[judged.length - 1] ?? a.steps[a.steps.length - 1]) as Analysis['steps'][number]
    const invalidAfter = a.invalid_steps.filter((s) => s.step > (a.first_degraded?.step ?? highest.step))
    if (a.capacity !== undefined) {
      const held = a.steps.find((s) => s.step === a.capacity?.step)?.turns
      parts.push(`The system handles ${a.capacity.load} concurrent conversations with response p95 ${held?.p95_ms.toFixed(0) ?? '?'} ms`)
    } else if (judged[0] !== undefined && a.breaches.some((b) => b.step === judged[0]?.step)) {
      parts.push(`Every SLO was already broken at the lowest valid load (${judged[0].load})`)
    }
    const f = a.first_degraded
    // the baseline the named series was judged against: its own (a component's samples can make a baseline where the
    // turns were too few), else the run's
    const baselineSteps = f !== undefined && f.baseline_steps.length > 0 ? f.baseline_steps : (a.baseline?.steps ?? [])
    const against = `against the baseline at ${a.steps.filter((s) => baselineSteps.includes(s.step)).map((s) => s.load).join(' and ')}`
    if (singleLevel) {
      if (parts.length === 0) parts.push(`One load level (${highest.load}): no load axis to degrade along`)
    } else if (f !== undefined) {
      const share = a.attribution?.components[f.component]?.share
      const withIt = a.degraded_together.length > 0 ? ` (${a.degraded_together.map((c) => c.toUpperCase()).join(', ')} at the same load, with a smaller rise)` : ''
      if (f.signal === 'wer' && a.wer_degraded_at !== null) parts.push(`STT degrades first, at ${f.load}: its word error rate rises from ${a.wer_degraded_at.baseline.toFixed(2)} to ${a.wer_degraded_at.wer.toFixed(2)} ${against}`)
      else
        parts.push(
          `${f.component.toUpperCase()} degrades first, at ${f.load}${withIt}: p95 ${ms(f.rise_ms ?? 0)} (95 % interval ${ms(f.interval_ms?.[0] ?? 0)} to ${ms(f.interval_ms?.[1] ?? 0)}) ${against}, p ${(f.p ?? 1) < 0.0001 ? '< 0.0001' : (f.p ?? 1).toFixed(4)}${share !== undefined && a.attribution !== null && a.attribution.growth_ms > 0 ? `; ${Math.round(share * 100)} % of the response-time growth` : ''}`,
        )
      const before = a.invalid_steps.filter((s) => s.step < f.step)
      if (before.length > 0) parts.push(`it may have begun earlier: ${invalidSummary(before)}`)
    } else if (invalidAfter.length > 0) {
      parts.push(`no component degraded up to ${highest.load} (the highest valid load); cannot tell beyond it: ${invalidSummary(invalidAfter)}; ${rerun(invalidAfter)}`)
    } else parts.push(`no component degraded significantly up to ${highest.load} ${against}`)
    if (f === undefined && !singleLevel) {
      // a component with too few samples at the valid steps was not judged there: say so rather than imply it held
      const unjudged = [...new Set(a.steps.filter((s) => s.invalid === undefined).flatMap((s) => Object.entries(s.components).filter(([, c]) => c.status === 'too_few').map(([name]) => name)))]
      if (unjudged.length > 0) parts.push(`cannot tell for ${unjudged.map((c) => c.toUpperCase()).join(', ')}: too few samples at some steps (${minSamples} needed for a p95; raise --min-turns-per-step)`)
    }
    if (a.capacity?.limited_by !== undefined) {
      const next = judged.find((s) => s.step > (a.capacity?.step ?? 0))
      const slos = a.capacity.limited_by.split(', ')
      parts.push(`at ${next?.load ?? '?'} ${slos.length > 1 ? `${slos.join(' and ')} break their SLOs` : `${slos[0] ?? ''} breaks its SLO`}`)
    }
  }
  if (a.spike !== null) parts.push(`after the spike it degraded ${a.spike.degraded}${a.spike.recovery_s !== null ? ` and recovered in ${Math.round(a.spike.recovery_s)} s` : ' and had not recovered by the end of the run'}`)
  if (a.failure !== null) {
    const kinds = Object.entries(a.failure.kinds).sort((x, y) => y[1] - x[1]).slice(0, 2).map(([k]) => k)
    parts.push(`at ${a.failure.load} it fails (${a.failure.error_rate > 0.05 ? `${(a.failure.error_rate * 100).toFixed(0)} % of turns fail${kinds.length > 0 ? `: ${kinds.join(', ')}` : ''}` : `${(a.failure.hang_up_rate * 100).toFixed(0)} % of turns end in a hang-up`})`)
  }
  for (const t of leaks(a.resources)) parts.push(`${t.target}'s memory is rising ${describeTrend(t).replace(/^rising /, '')}`)
  // a soak long enough for a trend whose memory only rose: it may leak or not, and the headline says it cannot tell
  for (const t of soakMemory(a.resources).filter((t) => t.too_short_because === 'no_gc_cycle')) parts.push(`${t.target}'s memory: ${describeTrend(t)}`)
  const cpu = a.resources?.saturation.find((x) => x.resource === 'cpu')
  if (cpu !== undefined) parts.push(`${cpu.target}'s CPU is at ${Math.round(cpu.share * 100)} % of its ${cpu.limit} core${cpu.limit === 1 ? '' : 's'} at ${cpu.load}`)
  if (a.latency_creep?.verdict === 'rising') parts.push(`response latency creeps up ${a.latency_creep.slope_per_hour.toFixed(0)} ms/h over the soak`)
  const confidence = cannotTell ? 'cannot_tell' : a.invalid_steps.length > 0 ? 'partial' : 'supported'
  return { text: `${parts.join('; ')}.`, confidence }
}
