import { analysisQueries as Q, type QueryLines } from '../store/index.js'
import { analyzeRun, DEFAULT_SLOS, type Analysis, type Slos } from './run-analysis.js'

/** Samples per step (and component) pulled for the rank tests: enough power, bounded memory. */
const SAMPLES_PER_STEP = 2000
/** Turns per step whose critical paths are traced: the attribution is a mean, and this many pin it down. */
const PATHS_PER_STEP = 500
/** Slices of a spike's recovery phase: the resolution of its recovery time. */
const RECOVERY_SLICES = 10

/** Time buckets per sampled series: a week-long soak comes back as bounded as a minute's. */
const RESOURCE_BUCKETS = 2000
/** Answered turns of a soak whose response latencies give its creep. */
const CREEP_SAMPLES = 20_000

function toPoints(rows: ReadonlyArray<{ at_us: number; ms: number }>): Array<{ t: number; value: number }> {
  const t0 = rows[0]?.at_us ?? 0
  return rows.map((r) => ({ t: (r.at_us - t0) / 1e6, value: r.ms }))
}

/** The time window a run without a load axis is judged in, by default: a minute. */
export const DEFAULT_WINDOW_S = 60

export interface StoredRunOptions {
  slos?: Slos
  /** seconds per window for a run with neither load steps nor turns (the proxy alone in front of real traffic) */
  windowS?: number
}

/** Analyses a run in the store (the latest with turns or hops when no id is given); undefined when there is none. */
export async function analyzeStoredRun(query: QueryLines, database: string, runId: string | undefined, slosOrOptions: Slos | StoredRunOptions = DEFAULT_SLOS): Promise<Analysis | undefined> {
  const options: StoredRunOptions = 'response_p95_ms' in slosOrOptions ? { slos: slosOrOptions } : slosOrOptions
  const slos = options.slos ?? DEFAULT_SLOS
  const run = await Q.findRun(query, database, runId)
  if (run === undefined) return undefined
  const loadSteps = await Q.steps(query, database, run.run_id)
  // no load steps: the turns came from the agent's own spans through the proxy; they are one observed step
  const observed = loadSteps.length > 0 ? [] : await Q.observedStep(query, database, run.run_id)
  // neither: the proxy alone in front of real traffic; its hops are judged over time, in windows
  const windowed = loadSteps.length === 0 && observed.length === 0 ? await Q.windowSteps(query, database, run.run_id, options.windowS ?? DEFAULT_WINDOW_S) : undefined
  const windows = windowed?.windows
  const steps = loadSteps.length > 0 ? loadSteps : observed.length > 0 ? observed : windowed?.steps ?? []
  // a spike run's recovery phase, in ten slices
  const recoveryStep = steps.find((s) => s.phase === 'recovery')
  const recovery =
    recoveryStep !== undefined && steps.some((s) => s.phase === 'spike')
      ? { buckets: await Q.stepTimeline(query, database, run.run_id, recoveryStep, RECOVERY_SLICES), bucketS: ((recoveryStep.end_us - recoveryStep.start_us) / 1e6 / RECOVERY_SLICES) * run.time_scale }
      : undefined
  const soakSteps = steps.filter((s) => s.phase === 'soak').map((s) => s.step)
  return analyzeRun({
    run,
    steps,
    ...(recovery !== undefined ? { recovery } : {}),
    ...(windows !== undefined ? { windowS: windows.width_us / 1e6 } : {}),
    components: await Q.componentSteps(query, database, run.run_id, windows),
    errors: await Q.hopErrors(query, database, run.run_id, windows),
    turns: windows !== undefined ? [] : await Q.turnSteps(query, database, run.run_id),
    componentSamples: await Q.componentSamples(query, database, run.run_id, SAMPLES_PER_STEP, windows),
    turnSamples: windows !== undefined ? new Map() : await Q.turnSamples(query, database, run.run_id, SAMPLES_PER_STEP),
    paths: windows !== undefined ? [] : await Q.turnPaths(query, database, run.run_id, PATHS_PER_STEP),
    ...(windows !== undefined ? {} : { werSamples: await Q.werSamples(query, database, run.run_id, SAMPLES_PER_STEP) }),
    resources: await Q.resourceSeries(query, database, run.run_id, RESOURCE_BUCKETS),
    responseOverTime: toPoints(await Q.responseOverTime(query, database, run.run_id, soakSteps, CREEP_SAMPLES)),
    alerts: await Q.alertChanges(query, database, run.run_id),
  }, slos)
}
