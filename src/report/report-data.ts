import { analyzeStoredRun, DEFAULT_SLOS, type Analysis, type Slos } from '../analyze/index.js'
import { analysisQueries as A, reportQueries as R, type QueryLines } from '../store/index.js'
import { sloGrid, type SloRow } from './slo-grid.js'

/** Slices per time series: a chart's worth of points, whatever the run's length or size. */
export const REPORT_BUCKETS = 240
/** The slowest answered turns drawn as waterfalls, beside the median one. */
const SLOWEST_TURNS = 5

/** Everything the HTML report shows: the analysis `analyze --format json` prints, and the run over time. */
export interface ReportDocument {
  format: 'hopwatch-report/1'
  generated_at: string
  versions: { hopwatch_recorded: string; hopwatch_report: string; node: string; engine: string }
  run: { run_id: string; name: string; source: string; scenario: string; profile: string; architecture: string; time_scale: number; started_us: number; ended_us: number }
  analysis: Analysis
  /** every SLO at every step */
  checks: SloRow[]
  totals: R.RunTotals
  /** the time slices every series is cut into (µs); null for a run with neither turns nor hops */
  axis: R.TimeAxis | null
  series: {
    response: R.ResponseBucket[]
    components: R.ComponentBucket[]
    errors: R.ErrorBucket[]
    /** response-time distribution: counts per bar of `bin_ms`, the last one open-ended */
    histogram: { bin_ms: number; counts: number[] }
    /** the generator's health per step */
    steps: A.StepRow[]
    /** spike runs: the recovery step in slices */
    recovery: { step: number; start_us: number; end_us: number; buckets: A.RecoveryBucketRow[] } | null
    resources: A.ResourceSeriesRow[]
  }
  component_totals: R.ComponentTotal[]
  waterfalls: { median: R.WaterfallTurn | undefined; slowest: R.WaterfallTurn[] }
}

function configOf(json: string): { scenario: string; profile: string; architecture: string } {
  try {
    const c = JSON.parse(json) as { load?: { scenarios?: unknown; profile?: unknown; architecture?: unknown } }
    const text = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) ? v.filter((x) => typeof x === 'string').join(', ') : '')
    return { scenario: text(c.load?.scenarios), profile: text(c.load?.profile), architecture: text(c.load?.architecture) }
  } catch {
    return { scenario: '', profile: '', architecture: '' }
  }
}

/** The report's data for a run (the latest with turns or hops by default); undefined when there is no such run. */
export async function reportDocument(query: QueryLines, db: string, runId: string | undefined, options: { slos?: Slos; version: string; analysis?: Analysis }): Promise<ReportDocument | undefined> {
  // the analysis the caller already has (hopwatch run made it from the same store a moment ago), or a new one
  const analysis = options.analysis ?? (await analyzeStoredRun(query, db, runId, { slos: options.slos ?? DEFAULT_SLOS }))
  if (analysis === undefined) return undefined
  const id = analysis.run.run_id
  const record = await R.runRecord(query, db, id)
  const axis = (await R.timeAxis(query, db, id, REPORT_BUCKETS)) ?? null
  const steps = await A.steps(query, db, id)
  const recoveryStep = steps.find((s) => s.phase === 'recovery')
  const recovery = recoveryStep !== undefined && analysis.spike !== null ? { step: recoveryStep.step, start_us: recoveryStep.start_us, end_us: recoveryStep.end_us, buckets: await A.stepTimeline(query, db, id, recoveryStep, 10) } : null
  return {
    format: 'hopwatch-report/1',
    generated_at: new Date().toISOString(),
    versions: { hopwatch_recorded: record?.hopwatch_version ?? '', hopwatch_report: options.version, node: process.version, engine: await R.engineVersion(query) },
    run: { ...analysis.run, ...configOf(record?.config_json ?? '{}'), time_scale: analysis.run.time_scale ?? 1, started_us: record?.started_us ?? 0, ended_us: record?.ended_us ?? 0 },
    analysis,
    checks: sloGrid(analysis),
    totals: await R.runTotals(query, db, id),
    axis,
    series: {
      response: axis === null ? [] : await R.responseOverTime(query, db, id, axis),
      components: axis === null ? [] : await R.componentsOverTime(query, db, id, axis),
      errors: axis === null ? [] : await R.errorsOverTime(query, db, id, axis),
      histogram: { bin_ms: R.HISTOGRAM_BIN_MS, counts: await R.responseHistogram(query, db, id) },
      steps,
      recovery,
      resources: await A.resourceSeries(query, db, id, REPORT_BUCKETS),
    },
    component_totals: await R.componentTotals(query, db, id),
    waterfalls: await R.waterfallTurns(query, db, id, SLOWEST_TURNS),
  }
}
