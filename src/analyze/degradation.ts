import { Rng } from '../sim/random.js'
import { clusterBootstrapDifference, clustersOf, holmAdjust, meanStatistic, normalUpperTail, quantile, quantileStatistic, serialInflation, type BufferStatistic, type Clusters } from './stats.js'

/** One load step's samples of a series (a component's latency in ms, the turn's, or the word error rate). */
export interface StepSamples {
  step: number
  load: number
  /** in the order they happened (their serial dependence is measured on this order) */
  samples: readonly number[]
  /** the conversation each sample came from (any key, one per sample); absent: the samples are independent */
  clusters?: readonly (number | string)[]
  /** why the step's measurement is no evidence (the generator or the host was the limit); absent when it is valid */
  invalid?: string
}

export interface DegradationOptions {
  /** the percentile judged, 0–1 (ignored when `mean` is set) */
  q: number
  /** judge the mean instead of a percentile (word error rates) */
  mean?: boolean
  /** the smallest rise that matters, relative to the baseline: 0.2 = 20 % */
  tolerance: number
  /** the smallest rise that matters, absolute, in the series' unit (50 ms; 0.05 for a word error rate) */
  minEffect: number
  /** the family-wise error rate held over every step × series judged in one analysis (Holm) */
  alpha: number
  /** fewer samples than this in a step: too few for its percentile, reported, never judged */
  minSamples: number
  /** the lowest valid steps pooled as the baseline: two halve its own noise, at the price of not judging the second */
  baselineSteps: number
  /** bootstrap resamples per test */
  iterations: number
  /** seeds the bootstrap: the same data give the same verdict */
  seed: number
}

/**
 * The defaults, and why: a p95 from fewer than 100 values is little more than the largest few of them; a rise counts
 * when it is at least 20 % and 50 ms (less is inside what an SRE would call the same) and significant with the chance
 * of any false alarm in the whole analysis held at 1 %. 400 resamples pin a bootstrap standard error to about 4 %
 * of itself (Efron & Tibshirani 1993, §6.4), which is what the test uses.
 */
export const DEGRADATION_DEFAULTS: DegradationOptions = { q: 0.95, tolerance: 0.2, minEffect: 50, alpha: 0.05, minSamples: 100, baselineSteps: 2, iterations: 400, seed: 1 }

/** Word error rate degrades when its mean rises by more than `minRise` (absolute: 0.05 = five words in a hundred), significantly. */
export function werOptions(minRise = 0.05): DegradationOptions {
  return { ...DEGRADATION_DEFAULTS, mean: true, tolerance: 0, minEffect: minRise }
}

/**
 * The last step judged has no later step to confirm it, so it must clear a stricter bar alone: twice the minimum
 * effect and a tenth of the family-wise level. Two consecutive steps that each pass at α (under independence, about
 * α² together) are about as unlikely by chance as one step passing at α/10 with a rise twice as large.
 */
export const LAST_STEP = { effectFactor: 2, alphaFactor: 0.1 } as const

/** z of the standard normal's 97.5th percentile: a two-sided 95 % interval */
const Z975 = 1.959964

/** the plain one-sided level at which the step after a raised one confirms it */
export const CONFIRM_ALPHA = 0.05

/**
 * The serial dependence that matters for a percentile is that of exceeding it (its asymptotic variance is built from
 * the autocovariances of that indicator); past the 90th, too few exceedances in a step estimate it, so it is taken there.
 */
const INFLATION_Q_MAX = 0.9

export type StepStatus = 'baseline' | 'ok' | 'degraded' | 'blip' | 'too_few' | 'invalid'

export interface StepVerdict {
  step: number
  load: number
  n: number
  /** the judged statistic (the percentile, or the mean), in the series' unit (NaN without samples) */
  value: number
  /** value ÷ the baseline's */
  ratio: number
  /** value − the baseline's, with its bootstrap 95 % interval (NaN when not tested) */
  difference: number
  interval: [number, number]
  /** one-sided p of "the statistic rose" from the cluster bootstrap, and after Holm over the whole analysis */
  p: number
  p_adjusted: number
  status: StepStatus
  /** why the step was not judged, when it was not */
  reason?: string
}

export interface Degradation {
  baseline: { steps: number[]; load: number; value: number; n: number } | undefined
  /** the first step whose rise is real (large enough, significant after Holm) and confirmed by the next judged step */
  degradedAt: StepVerdict | undefined
  steps: StepVerdict[]
}

/** One series' steps with their tests, before the family-wise correction decides which are significant. */
export interface PreparedSeries {
  name: string
  options: DegradationOptions
  baseline: Degradation['baseline']
  steps: StepVerdict[]
  /** indices into `steps` of the judged steps, in order */
  judged: number[]
}

function statisticOf(options: DegradationOptions): { plain: (xs: readonly number[]) => number; buffer: BufferStatistic } {
  if (options.mean === true) return { plain: (xs) => xs.reduce((a, b) => a + b, 0) / xs.length, buffer: meanStatistic }
  return { plain: (xs) => quantile(xs, options.q), buffer: quantileStatistic(options.q) }
}

/** The rise a step must show over the baseline's value to matter. */
export function minimumEffect(baseline: number, options: DegradationOptions): number {
  return Math.max(options.tolerance * baseline, options.minEffect)
}

/**
 * Sets up one series: which steps are invalid or have too few samples, the baseline (the lowest-load valid step with
 * enough samples, pooled with the valid steps right after it at the same load), and for every later judged step a
 * cluster-bootstrap test of its statistic against the baseline's.
 */
export function prepareSeries(name: string, input: readonly StepSamples[], options: DegradationOptions = DEGRADATION_DEFAULTS): PreparedSeries {
  const ordered = [...input].sort((a, b) => a.step - b.step)
  const stat = statisticOf(options)
  const steps: StepVerdict[] = ordered.map((s) => ({
    step: s.step,
    load: s.load,
    n: s.samples.length,
    value: s.samples.length > 0 ? stat.plain(s.samples) : Number.NaN,
    ratio: Number.NaN,
    difference: Number.NaN,
    interval: [Number.NaN, Number.NaN],
    p: Number.NaN,
    p_adjusted: Number.NaN,
    status: 'ok',
  }))
  const usable: number[] = []
  ordered.forEach((s, i) => {
    const v = steps[i] as StepVerdict
    if (s.invalid !== undefined) {
      v.status = 'invalid'
      v.reason = s.invalid
    } else if (s.samples.length < options.minSamples) {
      v.status = 'too_few'
      v.reason = `${s.samples.length} samples, ${options.minSamples} needed`
    } else usable.push(i)
  })
  const first = usable[0]
  if (first === undefined) return { name, options, baseline: undefined, steps, judged: [] }
  // the lowest loads, as long as nothing but their load separates them (no invalid or too-few step in between)
  const baselineIdx = [first]
  for (const i of usable.slice(1)) {
    if (baselineIdx.length >= options.baselineSteps || i !== (baselineIdx[baselineIdx.length - 1] as number) + 1) break
    baselineIdx.push(i)
  }
  const baseClusters: number[][] = baselineIdx.flatMap((i) => clustersOf([...(ordered[i] as StepSamples).samples], (ordered[i] as StepSamples).clusters))
  const pooled = baseClusters.flat()
  const baselineValue = stat.plain(pooled)
  const inflationQ = options.mean === true ? 0.5 : Math.min(options.q, INFLATION_Q_MAX)
  const baselineInflation = Math.max(...baselineIdx.map((i) => serialInflation((ordered[i] as StepSamples).samples, inflationQ)))
  for (const i of baselineIdx) (steps[i] as StepVerdict).status = 'baseline'
  const judged = usable.filter((i) => !baselineIdx.includes(i))
  const rng = new Rng(options.seed, `degradation/${name}`)
  for (const i of judged) {
    const s = ordered[i] as StepSamples
    const v = steps[i] as StepVerdict
    const later: Clusters = clustersOf([...s.samples], s.clusters)
    const boot = clusterBootstrapDifference(baseClusters, later, stat.buffer, rng, options.iterations)
    // each side's bootstrap variance, inflated for the serial dependence the conversation resampling cannot see
    const se = Math.sqrt(boot.seLater ** 2 * serialInflation(s.samples, inflationQ) + boot.seBaseline ** 2 * baselineInflation)
    v.difference = boot.difference
    v.interval = [boot.difference - Z975 * se, boot.difference + Z975 * se]
    // one-sided: did the statistic rise? A normal p from the standard error: smooth, where counting resamples
    // could not go below 1/iterations and Holm needs smaller ones
    v.p = se > 0 ? normalUpperTail(boot.difference / se) : boot.difference > 0 ? 0 : 1
  }
  for (const v of steps) if (!Number.isNaN(v.value) && baselineValue !== 0) v.ratio = v.value / baselineValue
  return { name, options, baseline: { steps: baselineIdx.map((i) => (ordered[i] as StepSamples).step), load: (ordered[first] as StepSamples).load, value: baselineValue, n: pooled.length }, steps, judged }
}

/**
 * Decides a family of series together: Holm's adjustment over every step × series tested holds the chance of any
 * false alarm in the whole analysis at `alpha`. A step is raised when its adjusted p is below alpha and its rise is at
 * least the minimum effect; a series degrades at the first raised step that the next judged step confirms (or, at
 * the last judged step, one that clears LAST_STEP's stricter bar). A raised step that is not confirmed is a blip.
 */
export function judgeFamily(family: readonly PreparedSeries[], alpha = DEGRADATION_DEFAULTS.alpha): Degradation[] {
  const tests = family.flatMap((series) => series.judged.map((i) => series.steps[i] as StepVerdict))
  const adjusted = holmAdjust(tests.map((t) => t.p))
  tests.forEach((t, k) => (t.p_adjusted = adjusted[k] as number))
  return family.map((series) => {
    if (series.baseline === undefined) return { baseline: undefined, degradedAt: undefined, steps: series.steps }
    const effect = minimumEffect(series.baseline.value, series.options)
    const raised = (v: StepVerdict, strict: boolean) =>
      v.p_adjusted < alpha * (strict ? LAST_STEP.alphaFactor : 1) && v.difference >= effect * (strict ? LAST_STEP.effectFactor : 1)
    // the confirming step must show the rise too, at the plain level: Holm already holds the chance that any
    // step is raised by chance at alpha, and a confirmation can only lower it further
    const confirms = (v: StepVerdict) => v.p < CONFIRM_ALPHA && v.difference >= effect
    let degradedAt: StepVerdict | undefined
    series.judged.forEach((i, k) => {
      const v = series.steps[i] as StepVerdict
      const next = series.judged[k + 1]
      const isRaised = raised(v, false)
      if (degradedAt !== undefined) {
        v.status = isRaised || confirms(v) ? 'degraded' : 'ok'
        return
      }
      if (!isRaised) {
        v.status = 'ok'
        return
      }
      const confirmed = next !== undefined ? confirms(series.steps[next] as StepVerdict) : raised(v, true)
      v.status = confirmed ? 'degraded' : 'blip'
      if (confirmed) degradedAt = v
    })
    return { baseline: series.baseline, degradedAt, steps: series.steps }
  })
}

/** One series judged alone (its own family): where it degrades, if it does. */
export function findDegradation(steps: readonly StepSamples[], options: DegradationOptions = DEGRADATION_DEFAULTS): Degradation {
  return judgeFamily([prepareSeries('series', steps, options)], options.alpha)[0] as Degradation
}
