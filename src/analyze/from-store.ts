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

/** Analyses a run in the store (the latest with turns when no id is given); undefined when there is none. */
export async function analyzeStoredRun(query: QueryLines, database: string, runId: string | undefined, slos: Slos = DEFAULT_SLOS): Promise<Analysis | undefined> {
  const run = await Q.findRun(query, database, runId)
  if (run === undefined) return undefined
  const loadSteps = await Q.steps(query, database, run.run_id)
  // no load steps: the turns came from the agent's own spans through the proxy; they are one observed step
  const steps = loadSteps.length > 0 ? loadSteps : await Q.observedStep(query, database, run.run_id)
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
    components: await Q.componentSteps(query, database, run.run_id),
    errors: await Q.hopErrors(query, database, run.run_id),
    turns: await Q.turnSteps(query, database, run.run_id),
    componentSamples: await Q.componentSamples(query, database, run.run_id, SAMPLES_PER_STEP),
    turnSamples: await Q.turnSamples(query, database, run.run_id, SAMPLES_PER_STEP),
    paths: await Q.turnPaths(query, database, run.run_id, PATHS_PER_STEP),
    werSamples: await Q.werSamples(query, database, run.run_id, SAMPLES_PER_STEP),
    resources: await Q.resourceSeries(query, database, run.run_id, RESOURCE_BUCKETS),
    responseOverTime: toPoints(await Q.responseOverTime(query, database, run.run_id, soakSteps, CREEP_SAMPLES)),
    alerts: await Q.alertChanges(query, database, run.run_id),
  }, slos)
}
