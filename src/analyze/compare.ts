import { analysisQueries as Q, type QueryLines } from '../store/index.js'
import { Rng } from '../sim/random.js'
import type { StepSeries } from '../store/analysis.js'
import { DEGRADATION_DEFAULTS } from './degradation.js'
import { invalidOf } from './run-analysis.js'
import { clusterBootstrapDifference, clustersOf, holmAdjust, normalUpperTail, quantile, quantileStatistic, serialInflation } from './stats.js'

export interface ComparisonRow {
  load: number
  /** a component, or `response` for the callers' response latency */
  name: string
  n: { run: number; baseline: number }
  p50_ms: { run: number; baseline: number }
  p95_ms: { run: number; baseline: number }
  /** run p95 ÷ baseline p95 */
  ratio: number
  /** one-sided p that the run's p95 is higher (p) and that it is lower (p_faster), after Holm over the comparison */
  p: number
  p_faster: number
  verdict: 'regression' | 'improvement' | 'same' | 'too_few'
}

export interface Comparison {
  run: string
  baseline: string
  tolerance: number
  rows: ComparisonRow[]
  regressions: ComparisonRow[]
}

/**
 * Compares two runs level by level (steps are matched on their target load) and per component, with the analyzer's
 * statistics: a cluster bootstrap of the p95 difference (conversations resampled), one-sided tests both ways, and
 * Holm's adjustment over every test in the comparison, so the chance of any false regression or improvement is held
 * at alpha. A regression is a significant rise of at least the minimum effect (max(tolerance × baseline, 50 ms));
 * an improvement is the mirror image. Levels or components only one run has are left out.
 */
export function compareSamples(
  run: { id: string; samples: ReadonlyMap<string, StepSeries> },
  baseline: { id: string; samples: ReadonlyMap<string, StepSeries> },
  options: { tolerance: number; alpha: number; minSamples: number; minEffectMs?: number; iterations?: number } = { tolerance: 0.2, alpha: DEGRADATION_DEFAULTS.alpha, minSamples: DEGRADATION_DEFAULTS.minSamples },
): Comparison {
  const rows: ComparisonRow[] = []
  const tested: Array<{ row: ComparisonRow; rise: number; seSq: number }> = []
  const rng = new Rng(DEGRADATION_DEFAULTS.seed, `compare/${run.id}/${baseline.id}`)
  const p95 = quantileStatistic(0.95)
  for (const [key, samples] of run.samples) {
    const base = baseline.samples.get(key)
    if (base === undefined) continue
    const [name, loadText] = key.split('@') as [string, string]
    const row: ComparisonRow = {
      load: Number(loadText),
      name,
      n: { run: samples.values.length, baseline: base.values.length },
      p50_ms: { run: quantile(samples.values, 0.5), baseline: quantile(base.values, 0.5) },
      p95_ms: { run: quantile(samples.values, 0.95), baseline: quantile(base.values, 0.95) },
      ratio: quantile(samples.values, 0.95) / quantile(base.values, 0.95),
      p: Number.NaN,
      p_faster: Number.NaN,
      verdict: 'too_few',
    }
    rows.push(row)
    if (samples.values.length < options.minSamples || base.values.length < options.minSamples) continue
    const boot = clusterBootstrapDifference(clustersOf(base.values, base.clusters), clustersOf(samples.values, samples.clusters), p95, rng, options.iterations ?? DEGRADATION_DEFAULTS.iterations)
    const seSq = boot.seLater ** 2 * serialInflation(samples.values, 0.9) + boot.seBaseline ** 2 * serialInflation(base.values, 0.9)
    tested.push({ row, rise: boot.difference, seSq })
  }
  // both directions of every row are tests of the one family
  const z = tested.map((t) => (t.seSq > 0 ? t.rise / Math.sqrt(t.seSq) : t.rise > 0 ? Infinity : t.rise < 0 ? -Infinity : 0))
  const adjusted = holmAdjust([...z.map((x) => normalUpperTail(x)), ...z.map((x) => normalUpperTail(-x))])
  tested.forEach(({ row, rise }, i) => {
    row.p = adjusted[i] as number
    row.p_faster = adjusted[i + tested.length] as number
    const effect = Math.max(options.tolerance * row.p95_ms.baseline, options.minEffectMs ?? DEGRADATION_DEFAULTS.minEffect)
    row.verdict = row.p < options.alpha && rise >= effect ? 'regression' : row.p_faster < options.alpha && -rise >= effect ? 'improvement' : 'same'
  })
  rows.sort((a, b) => a.load - b.load || a.name.localeCompare(b.name))
  return { run: run.id, baseline: baseline.id, tolerance: options.tolerance, rows, regressions: rows.filter((r) => r.verdict === 'regression') }
}

/** Samples keyed `name@load`: each component's latencies and the callers' response latencies, per load level (valid steps only). */
export async function levelSamples(query: QueryLines, db: string, runId: string, perStep: number): Promise<Map<string, StepSeries>> {
  const steps = await Q.steps(query, db, runId)
  const loadOf = new Map(steps.filter((s) => invalidOf(s) === undefined).map((s) => [s.step, s.target_load]))
  const out = new Map<string, StepSeries>()
  const add = (key: string, x: StepSeries) => {
    const have = out.get(key)
    out.set(key, have === undefined ? { values: [...x.values], clusters: [...x.clusters] } : { values: [...have.values, ...x.values], clusters: [...have.clusters, ...x.clusters] })
  }
  for (const [key, values] of await Q.componentSamples(query, db, runId, perStep)) {
    const [component, step] = key.split('#') as [string, string]
    const load = loadOf.get(Number(step))
    if (load !== undefined) add(`${component}@${load}`, values)
  }
  for (const [step, values] of await Q.turnSamples(query, db, runId, perStep)) {
    const load = loadOf.get(step)
    if (load !== undefined) add(`response@${load}`, values)
  }
  return out
}
