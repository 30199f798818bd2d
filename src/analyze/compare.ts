import { analysisQueries as Q, type QueryLines } from '../store/index.js'
import { quantile, rankTest } from './stats.js'

export interface ComparisonRow {
  load: number
  /** a component, or `response` for the callers' response latency */
  name: string
  n: { run: number; baseline: number }
  p50_ms: { run: number; baseline: number }
  p95_ms: { run: number; baseline: number }
  /** run p95 ÷ baseline p95 */
  ratio: number
  /** one-sided rank test that the run is slower (p) and that it is faster (p_faster) */
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
 * Compares two runs level by level (steps are matched on their target load) and per component: a regression is a
 * p95 above the baseline's by more than the tolerance *and* a significant one-sided rank test (p < alpha); an
 * improvement is the mirror image. Levels or components only one run has are left out.
 */
export function compareSamples(
  run: { id: string; samples: ReadonlyMap<string, number[]> },
  baseline: { id: string; samples: ReadonlyMap<string, number[]> },
  options: { tolerance: number; alpha: number; minSamples: number } = { tolerance: 0.2, alpha: 0.01, minSamples: 20 },
): Comparison {
  const rows: ComparisonRow[] = []
  for (const [key, samples] of run.samples) {
    const base = baseline.samples.get(key)
    if (base === undefined) continue
    const [name, loadText] = key.split('@') as [string, string]
    const row: ComparisonRow = {
      load: Number(loadText),
      name,
      n: { run: samples.length, baseline: base.length },
      p50_ms: { run: quantile(samples, 0.5), baseline: quantile(base, 0.5) },
      p95_ms: { run: quantile(samples, 0.95), baseline: quantile(base, 0.95) },
      ratio: quantile(samples, 0.95) / quantile(base, 0.95),
      p: Number.NaN,
      p_faster: Number.NaN,
      verdict: 'too_few',
    }
    if (samples.length >= options.minSamples && base.length >= options.minSamples) {
      row.p = rankTest(base, samples).p
      row.p_faster = rankTest(samples, base).p
      row.verdict = row.ratio > 1 + options.tolerance && row.p < options.alpha ? 'regression' : row.ratio < 1 - options.tolerance && row.p_faster < options.alpha ? 'improvement' : 'same'
    }
    rows.push(row)
  }
  rows.sort((a, b) => a.load - b.load || a.name.localeCompare(b.name))
  return { run: run.id, baseline: baseline.id, tolerance: options.tolerance, rows, regressions: rows.filter((r) => r.verdict === 'regression') }
}

/** Samples keyed `name@load`: each component's latencies and the callers' response latencies, per load level. */
export async function levelSamples(query: QueryLines, db: string, runId: string, perStep: number): Promise<Map<string, number[]>> {
  const steps = await Q.steps(query, db, runId)
  const loadOf = new Map(steps.map((s) => [s.step, s.target_load]))
  const out = new Map<string, number[]>()
  const add = (key: string, values: number[]) => out.set(key, [...(out.get(key) ?? []), ...values])
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
