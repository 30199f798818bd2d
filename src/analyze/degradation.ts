import { quantile, rankTest } from './stats.js'

/** One load step's samples of a latency (ms), e.g. a component's or the turn's. */
export interface StepSamples {
  step: number
  load: number
  samples: readonly number[]
  /** the load generator was the bottleneck in this step: it says nothing about the system */
  generatorLimited?: boolean
}

export interface DegradationOptions {
  /** the percentile judged, 0–1 */
  q: number
  /** how far above the baseline's percentile counts as a rise: 0.2 = 20 % */
  tolerance: number
  /** significance of the one-sided rank test against the baseline */
  alpha: number
  /** fewer samples than this in a step: reported as too few, never judged */
  minSamples: number
  /** the first usable steps pooled as the baseline */
  baselineSteps: number
  /** what is judged of a step's samples (default: the q-quantile) */
  statistic?: (samples: readonly number[]) => number
  /** whether a step's statistic has risen enough over the baseline's (default: by more than the tolerance, relatively) */
  rose?: (value: number, baseline: number) => boolean
}

export const DEGRADATION_DEFAULTS: DegradationOptions = { q: 0.95, tolerance: 0.2, alpha: 0.01, minSamples: 20, baselineSteps: 2 }

export type StepStatus = 'baseline' | 'ok' | 'degraded' | 'blip' | 'too_few' | 'generator_limited'

export interface StepVerdict {
  step: number
  load: number
  n: number
  /** the judged percentile, ms (NaN without samples) */
  value: number
  /** value ÷ the baseline's */
  ratio: number
  /** the rank test's one-sided p against the baseline (NaN when not tested) */
  p: number
  status: StepStatus
}

export interface Degradation {
  baseline: { steps: number[]; value: number; n: number } | undefined
  /** the first step whose rise is real (above tolerance, significant) and stays in every judged step after it */
  degradedAt: StepVerdict | undefined
  steps: StepVerdict[]
}

/**
 * When a latency degrades over a run's steps. A step has degraded when its percentile is above the baseline's by more
 * than the tolerance and a one-sided Mann–Whitney test says its samples are larger (p < alpha); the degradation
 * point is the first such step after which every judged step has degraded too, so a one-step blip is not one.
 * Steps with too few samples, or where the generator was the limit, are reported and skipped, never guessed.
 */
export function findDegradation(steps: readonly StepSamples[], options: DegradationOptions = DEGRADATION_DEFAULTS): Degradation {
  const ordered = [...steps].sort((a, b) => a.step - b.step)
  const statistic = options.statistic ?? ((xs: readonly number[]) => quantile(xs, options.q))
  const rose = options.rose ?? ((value: number, baseline: number) => value > baseline * (1 + options.tolerance))
  const verdicts: StepVerdict[] = ordered.map((s) => ({ step: s.step, load: s.load, n: s.samples.length, value: s.samples.length > 0 ? statistic(s.samples) : Number.NaN, ratio: Number.NaN, p: Number.NaN, status: 'ok' }))
  const usable: number[] = []
  ordered.forEach((s, i) => {
    const v = verdicts[i] as StepVerdict
    if (s.generatorLimited === true) v.status = 'generator_limited'
    else if (s.samples.length < options.minSamples) v.status = 'too_few'
    else usable.push(i)
  })
  if (usable.length < options.baselineSteps) return { baseline: undefined, degradedAt: undefined, steps: verdicts }
  const baselineIdx = usable.slice(0, options.baselineSteps)
  const pooled = baselineIdx.flatMap((i) => [...(ordered[i] as StepSamples).samples])
  const baselineValue = statistic(pooled)
  for (const i of baselineIdx) (verdicts[i] as StepVerdict).status = 'baseline'
  const judged = usable.slice(options.baselineSteps)
  for (const i of judged) {
    const v = verdicts[i] as StepVerdict
    v.ratio = v.value / baselineValue
    v.p = rankTest(pooled, (ordered[i] as StepSamples).samples).p
    v.status = rose(v.value, baselineValue) && v.p < options.alpha ? 'degraded' : 'ok'
  }
  // sustained: the first degraded step from which no later judged step is ok
  let degradedAt: StepVerdict | undefined
  for (const [k, i] of judged.entries()) {
    const v = verdicts[i] as StepVerdict
    if (v.status !== 'degraded') continue
    if (judged.slice(k + 1).every((j) => (verdicts[j] as StepVerdict).status === 'degraded')) {
      degradedAt = v
      break
    }
    v.status = 'blip'
  }
  for (const v of verdicts) v.ratio = Number.isNaN(v.ratio) && !Number.isNaN(v.value) ? v.value / baselineValue : v.ratio
  return { baseline: { steps: baselineIdx.map((i) => (ordered[i] as StepSamples).step), value: baselineValue, n: pooled.length }, degradedAt, steps: verdicts }
}

/** Word error rate degrades when its mean rises by more than `minRise` (absolute: 0.05 = five words in a hundred), significantly. */
export function werOptions(minRise = 0.05): DegradationOptions {
  return { ...DEGRADATION_DEFAULTS, statistic: (xs) => xs.reduce((a, b) => a + b, 0) / xs.length, rose: (value, baseline) => value > baseline + minRise }
}
