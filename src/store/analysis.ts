/**
 * The analyzer's SQL: aggregation happens in ClickHouse (exact percentiles per step × component, error counts,
 * turn outcomes) and Node receives aggregates plus a bounded, uniform sample per step for the rank tests, so memory
 * stays flat however many hops a run has. Every statement runs on Debian's 18.16 server as on the embedded engine:
 * percentiles are type 7 (src/percentile.ts) over sorted arrays, literals are quoted client-side, joins are `ALL INNER JOIN … USING` (turns are unique per key; `ANY` means a semi-join on newer servers), sampling is `LIMIT n BY` over a hash order.
 */
import { componentLatencySql } from '../latency.js'
import { type7QuantilesSql } from '../percentile.js'
import { quoteString } from './sql.js'

/** Runs one statement and yields its rows as JSON lines: the store directly, or through the owning process's admin API. */
export type QueryLines = (sql: string) => AsyncIterable<string>

/** A statement's rows, parsed. */
export async function rows<T>(query: QueryLines, sql: string): Promise<T[]> {
  const out: T[] = []
  for await (const line of query(sql)) out.push(JSON.parse(line) as T)
  return out
}

/** A hop's component latency in µs (−1 when none) and whether it is a lower bound: src/latency.ts's one definition. */
const LATENCY = componentLatencySql()

/** A conversation as a number, the cluster key the bootstrap resamples by (a UInt32 hash: small, and a plain JSON number). */
const CLUSTER = 'toUInt32(cityHash64(conversation_id) % 4294967291)'

/** What a turn's caller experienced, µs: to the first audio, or (none came) the silence sat through — a lower bound. */
export const EXPERIENCED_US = 'if(first_audio_us > 0, first_audio_us - user_end_us, end_us - user_end_us)'

export interface RunInfo {
  run_id: string
  name: string
  source: string
  started_us: number
  ended_us: number
  /** the run's load.time_scale (1 when it did not say) */
  time_scale: number
}

/** The run by id, or the latest one that has turns or, failing those, hops (the proxy alone in front of real traffic). */
export async function findRun(query: QueryLines, database: string, runId: string | undefined): Promise<RunInfo | undefined> {
  const db = database
  const where = runId !== undefined ? `run_id = ${quoteString(runId)}` : `run_id IN (SELECT DISTINCT run_id FROM ${db}.turns) OR run_id IN (SELECT DISTINCT run_id FROM ${db}.hops)`
  const [run] = await rows<Omit<RunInfo, 'time_scale'> & { config_json: string }>(
    query,
    `SELECT run_id, argMax(name, updated_us) AS name, argMax(source, updated_us) AS source, min(started_us) AS started_us, max(ended_us) AS ended_us,
            argMax(config_json, updated_us) AS config_json
     FROM ${db}.runs WHERE ${where} GROUP BY run_id ORDER BY started_us DESC LIMIT 1`,
  )
  if (run === undefined) return undefined
  const { config_json, ...info } = run
  let timeScale = 1
  try {
    const scale = (JSON.parse(config_json) as { load?: { time_scale?: unknown } }).load?.time_scale
    if (typeof scale === 'number' && scale > 0) timeScale = scale
  } catch {
    // a run recorded without its config (a bare proxy): not time-scaled
  }
  return { ...info, time_scale: timeScale }
}

export interface StepRow {
  step: number
  phase: string
  load_model: string
  target_load: number
  achieved_load: number
  start_us: number
  end_us: number
  generator_limited: number
  generator_lag_p99_ms: number
  generator_cpu: number
  /** conversations started in the step (all shards) */
  started: number
  /** why the step's measurement is no evidence ('' when it is valid): every shard's reasons */
  invalid_reason: string
  /** the host's busy CPU share over the step (0–1), the highest a shard saw */
  host_cpu: number
  /** each generator shard's label ('i/N') and when it began the step, µs (load steps only) */
  shards?: Array<{ shard: string; start_us: number }>
}

/** Each step once (shards of one run add their targets and achieved loads; the generator is limited if any shard was). */
export function steps(query: QueryLines, db: string, runId: string): Promise<StepRow[]> {
  return rows<StepRow>(
    query,
    `SELECT step, any(phase) AS phase, any(load_model) AS load_model, sum(target_load) AS target_load, sum(achieved_load) AS achieved_load,
            min(start_us) AS start_us, max(end_us) AS end_us, max(generator_limited) AS generator_limited,
            max(generator_lag_p99_ms) AS generator_lag_p99_ms, max(generator_cpu) AS generator_cpu, sum(started) AS started,
            arrayStringConcat(arrayFilter(x -> x != '', groupArray(invalid_reason)), '; ') AS invalid_reason, max(host_cpu) AS host_cpu,
            groupArray(shard) AS shard_labels, groupArray(shard_start_us) AS shard_starts
     FROM (SELECT *, start_us AS shard_start_us FROM ${db}.steps WHERE run_id = ${quoteString(runId)}) GROUP BY step ORDER BY step`,
  ).then((steps) =>
    steps.map(({ shard_labels, shard_starts, ...s }: StepRow & { shard_labels?: string[]; shard_starts?: number[] }) => ({
      ...s,
      shards: (shard_labels ?? []).map((shard, i) => ({ shard, start_us: shard_starts?.[i] ?? 0 })),
    })),
  )
}

/**
 * A run without load steps (`hopwatch proxy`, whose turns come from the agent's own spans) as one observed step over
 * its turns. Its load is the mean number of conversations in progress: each conversation's span (first turn's start
 * to last turn's end) summed, over the run's span. Empty when the run has no turns.
 */
export function observedStep(query: QueryLines, db: string, runId: string): Promise<StepRow[]> {
  return rows<StepRow>(
    query,
    `SELECT 0 AS step, 'observed' AS phase, 'observed' AS load_model,
            round(sum(e - s) / greatest(max(e) - min(s), 1)) AS target_load, round(sum(e - s) / greatest(max(e) - min(s), 1), 1) AS achieved_load,
            min(s) AS start_us, max(e) AS end_us, 0 AS generator_limited, 0 AS generator_lag_p99_ms, 0 AS generator_cpu, count() AS started, '' AS invalid_reason, 0 AS host_cpu
     FROM (SELECT conversation_id, min(user_start_us) AS s, max(end_us) AS e FROM ${db}.turns WHERE run_id = ${quoteString(runId)} GROUP BY conversation_id)
     HAVING count() > 0`,
  )
}

/**
 * A run without a load axis (the proxy in front of real traffic, no generator, no turns) is judged over time: its hops
 * fall into windows of `width_us` from `t0_us`, and each window stands where a load step would.
 */
export interface TimeWindows {
  t0_us: number
  width_us: number
}

/**
 * The judged hops of the run (the components' work: auxiliary ones such as `GET /v1/models` are left out) with their
 * step: their turn's (hops join turns on conversation and turn; a hop an agent's span joined, on the span's), or their
 * time window's.
 */
function hopsWithStep(db: string, runId: string, columns: string, windows?: TimeWindows): string {
  if (windows !== undefined) {
    return `(SELECT conversation_id, turn, intDiv(start_us - ${Math.floor(windows.t0_us)}, ${Math.max(1, Math.floor(windows.width_us))}) AS step, ${columns}
      FROM ${db}.hops WHERE run_id = ${quoteString(runId)} AND auxiliary = 0 AND start_us >= ${Math.floor(windows.t0_us)})`
  }
  // a proxy hop an agent's span joined belongs to the span's conversation and turn (its own are the connection's)
  return `(SELECT if(span_conversation = '', hop_conversation, span_conversation) AS conversation_id, if(span_conversation = '', hop_turn, span_turn) AS turn, *
      FROM (SELECT hop_id, conversation_id AS hop_conversation, turn AS hop_turn, ${columns} FROM ${db}.hops WHERE run_id = ${quoteString(runId)} AND auxiliary = 0) AS hx
      ANY LEFT JOIN (SELECT joined_hop_id AS hop_id, conversation_id AS span_conversation, turn AS span_turn FROM ${db}.spans
                     WHERE run_id = ${quoteString(runId)} AND joined_hop_id != '') AS j USING hop_id) AS h
    ALL INNER JOIN (SELECT conversation_id, turn, step FROM ${db}.turns WHERE run_id = ${quoteString(runId)}) AS t USING (conversation_id, turn)`
}

/**
 * The time windows of a run's hops as steps: per window, its hops per second as the load (what the traffic carried),
 * its span, and the conversations seen in it as `started`. Empty when the run has no hops.
 */
export async function windowSteps(query: QueryLines, db: string, runId: string, widthS: number): Promise<{ steps: StepRow[]; windows: TimeWindows | undefined }> {
  const [span] = await rows<{ first: number; n: number }>(query, `SELECT min(start_us) AS first, count() AS n FROM ${db}.hops WHERE run_id = ${quoteString(runId)}`)
  if (span === undefined || span.n === 0) return { steps: [], windows: undefined }
  const windows = { t0_us: span.first, width_us: Math.round(widthS * 1e6) }
  const steps = await rows<StepRow>(
    query,
    `SELECT step, 'window' AS phase, 'observed' AS load_model, round(count() / ${widthS}, 2) AS target_load, round(count() / ${widthS}, 2) AS achieved_load,
            ${Math.floor(windows.t0_us)} + step * ${windows.width_us} AS start_us, ${Math.floor(windows.t0_us)} + (step + 1) * ${windows.width_us} AS end_us,
            0 AS generator_limited, 0 AS generator_lag_p99_ms, 0 AS generator_cpu, uniqExact(conversation_id) AS started, '' AS invalid_reason, 0 AS host_cpu
     FROM ${hopsWithStep(db, runId, 'start_us', windows)} GROUP BY step ORDER BY step`,
  )
  return { steps, windows }
}

export interface ComponentStepRow {
  step: number
  component: string
  hops: number
  /** hops with a latency: measured, or a lower bound (censored) */
  n: number
  /** of those, lower bounds: hops cut short by a timeout, a caller's abort, a reset or the run's end */
  censored: number
  p50_ms: number
  p95_ms: number
  p99_ms: number
  errors: number
}

/** Per step × component: hop count, p50/p95/p99 of the component latency (censored hops as their lower bounds), errors (a caller's own abort is not one). */
export async function componentSteps(query: QueryLines, db: string, runId: string, windows?: TimeWindows): Promise<ComponentStepRow[]> {
  const raw = await rows<{ step: number; component: string; hops: number; n: number; censored: number; q: number[]; errors: number }>(
    query,
    // the sorted latencies stay in ClickHouse: only the quantiles leave it (the outer SELECT)
    `SELECT step, component, hops, n, censored, q, errors FROM (
       SELECT step, component, count() AS hops, countIf(latency_us >= 0) AS n, countIf(latency_us >= 0 AND censored = 1) AS censored,
              arraySort(groupArrayIf(latency_us, latency_us >= 0)) AS sorted, ${type7QuantilesSql('sorted', [0.5, 0.95, 0.99])} AS q,
              countIf(error_kind != '' AND error_kind != 'client_abort') AS errors
       FROM ${hopsWithStep(db, runId, `component, error_kind, ${LATENCY.latencyUs} AS latency_us, ${LATENCY.censored} AS censored`, windows)}
       GROUP BY step, component)
     ORDER BY step, component`,
  )
  return raw.map((r) => ({ step: r.step, component: r.component, hops: r.hops, n: r.n, censored: r.censored, p50_ms: (r.q[0] ?? 0) / 1000, p95_ms: (r.q[1] ?? 0) / 1000, p99_ms: (r.q[2] ?? 0) / 1000, errors: r.errors }))
}

export interface ErrorKindRow {
  step: number
  component: string
  error_kind: string
  /** the upstream's status for `upstream_status` errors (503 sheds load, 500 fails), else 0 */
  status: number
  n: number
}

/** Errors per step × component × kind (and status, for answered errors; `client_abort`, the callers' own interruptions, left out). */
export function hopErrors(query: QueryLines, db: string, runId: string, windows?: TimeWindows): Promise<ErrorKindRow[]> {
  return rows<ErrorKindRow>(
    query,
    `SELECT step, component, error_kind, if(error_kind = 'upstream_status', toUInt16(status), toUInt16(0)) AS status, count() AS n
     FROM ${hopsWithStep(db, runId, 'component, error_kind, status', windows)}
     WHERE error_kind != '' AND error_kind != 'client_abort' GROUP BY step, component, error_kind, status ORDER BY step, component, error_kind, status`,
  )
}

export interface TurnStepRow {
  step: number
  turns: number
  answered: number
  /** turns whose response latency is a lower bound: no audio came before the caller talked over it, hung up or it failed */
  censored: number
  p50_ms: number
  p95_ms: number
  p99_ms: number
  success: number
  interrupted: number
  hung_up: number
  wer: number
  /** response-latency bands: < 0.5, 0.5–1, 1–2, 2–3, > 3 s */
  bands: number[]
  conversations: number
  errors: number
}

/** Per step: turn count, p50/p95/p99 of the experienced response latency, outcomes, WER and the latency bands. */
export async function turnSteps(query: QueryLines, db: string, runId: string): Promise<TurnStepRow[]> {
  const raw = await rows<Omit<TurnStepRow, 'p50_ms' | 'p95_ms' | 'p99_ms'> & { q: number[] }>(
    query,
    `SELECT step, turns, answered, censored, q, success, interrupted, hung_up, wer, bands, conversations, errors FROM (
       SELECT step, count() AS turns, countIf(first_audio_us > 0) AS answered, countIf(user_end_us > 0 AND first_audio_us = 0) AS censored,
              arraySort(groupArrayIf(lat, user_end_us > 0)) AS sorted, ${type7QuantilesSql('sorted', [0.5, 0.95, 0.99])} AS q,
              sum(success) AS success, sum(interrupted) AS interrupted, sum(hung_up) AS hung_up,
              avgIf(wer, transcript != '') AS wer,
              [countIf(lat >= 0 AND lat < 500000), countIf(lat >= 500000 AND lat < 1000000), countIf(lat >= 1000000 AND lat < 2000000),
               countIf(lat >= 2000000 AND lat < 3000000), countIf(lat >= 3000000)] AS bands,
              uniqExact(conversation_id) AS conversations, countIf(error_kind != '') AS errors
       FROM (SELECT *, if(user_end_us > 0, ${EXPERIENCED_US}, -1) AS lat FROM ${db}.turns WHERE run_id = ${quoteString(runId)})
       GROUP BY step)
     ORDER BY step`,
  )
  return raw.map(({ q, ...r }) => ({ ...r, wer: Number.isFinite(r.wer) ? r.wer : 0, p50_ms: (q[0] ?? 0) / 1000, p95_ms: (q[1] ?? 0) / 1000, p99_ms: (q[2] ?? 0) / 1000 }))
}

/** Samples of one series per step: values in the order they happened, each with its conversation (the cluster key). */
export interface StepSeries {
  values: number[]
  clusters: number[]
}

/** Zips the arrays a sample query returns into a series in time order. */
function inTimeOrder(at: readonly number[], values: readonly number[], clusters: readonly number[], scale: number): StepSeries {
  const order = at.map((_, i) => i).sort((a, b) => (at[a] as number) - (at[b] as number))
  return { values: order.map((i) => (values[i] as number) / scale), clusters: order.map((i) => clusters[i] as number) }
}

/**
 * A uniform sample (by a hash, so reproducible) of at most `perStep` latencies (ms) per step × component, lower
 * bounds included, in time order with their conversations.
 */
export async function componentSamples(query: QueryLines, db: string, runId: string, perStep: number, windows?: TimeWindows): Promise<Map<string, StepSeries>> {
  const raw = await rows<{ step: number; component: string; at: number[]; v: number[]; c: number[] }>(
    query,
    `SELECT step, component, groupArray(start_us) AS at, groupArray(latency_us) AS v, groupArray(cluster) AS c FROM (
       SELECT step, component, start_us, latency_us, cluster FROM ${hopsWithStep(db, runId, `component, start_us, ${CLUSTER} AS cluster, ${LATENCY.latencyUs} AS latency_us`, windows)}
       WHERE latency_us >= 0
       ORDER BY cityHash64(conversation_id, turn, component, start_us) LIMIT ${Math.floor(perStep)} BY step, component)
     GROUP BY step, component`,
  )
  return new Map(raw.map((r) => [`${r.component}#${r.step}`, inTimeOrder(r.at, r.v, r.c, 1000)]))
}

/** A uniform sample of at most `perStep` experienced response latencies (ms) per step (lower bounds included), in time order with their conversations. */
export async function turnSamples(query: QueryLines, db: string, runId: string, perStep: number): Promise<Map<number, StepSeries>> {
  const raw = await rows<{ step: number; at: number[]; v: number[]; c: number[] }>(
    query,
    `SELECT step, groupArray(user_end_us) AS at, groupArray(lat) AS v, groupArray(cluster) AS c FROM (
       SELECT step, user_end_us, ${EXPERIENCED_US} AS lat, ${CLUSTER} AS cluster FROM ${db}.turns WHERE run_id = ${quoteString(runId)} AND user_end_us > 0
       ORDER BY cityHash64(conversation_id, turn) LIMIT ${Math.floor(perStep)} BY step)
     GROUP BY step`,
  )
  return new Map(raw.map((r) => [r.step, inTimeOrder(r.at, r.v, r.c, 1000)]))
}

export interface TurnPathRow {
  step: number
  user_end_us: number
  first_audio_us: number
  hops: Array<{ component: string; start_us: number; request_end_us: number; first_payload_us: number; final_us: number; end_us: number }>
}

/** A uniform sample of at most `perStep` answered turns per step, each with its hops' moments, for critical paths. */
export async function turnPaths(query: QueryLines, db: string, runId: string, perStep: number): Promise<TurnPathRow[]> {
  const raw = await rows<{ step: number; user_end_us: number; first_audio_us: number; c: string[]; s: number[]; r: number[]; p: number[]; f: number[]; e: number[] }>(
    query,
    `SELECT step, user_end_us, first_audio_us, groupArray(component) AS c, groupArray(start_us) AS s, groupArray(request_end_us) AS r,
            groupArray(first_payload_us) AS p, groupArray(final_us) AS f, groupArray(end_us) AS e
     FROM (SELECT conversation_id, turn, step, user_end_us, first_audio_us FROM ${db}.turns
           WHERE run_id = ${quoteString(runId)} AND user_end_us > 0 AND first_audio_us > user_end_us
           ORDER BY cityHash64(conversation_id, turn) LIMIT ${Math.floor(perStep)} BY step) AS t
     ALL INNER JOIN (SELECT conversation_id, turn, component, start_us, request_end_us, first_payload_us, final_us, end_us FROM ${db}.hops
                     WHERE run_id = ${quoteString(runId)} AND auxiliary = 0) AS h USING (conversation_id, turn)
     GROUP BY step, conversation_id, turn, user_end_us, first_audio_us`,
  )
  return raw.map((x) => ({
    step: x.step,
    user_end_us: x.user_end_us,
    first_audio_us: x.first_audio_us,
    hops: x.c.map((component, i) => ({ component, start_us: x.s[i] ?? 0, request_end_us: x.r[i] ?? 0, first_payload_us: x.p[i] ?? 0, final_us: x.f[i] ?? 0, end_us: x.e[i] ?? 0 })),
  }))
}

/** A uniform sample of at most `perStep` per-turn word error rates per step (turns with a transcript), in time order with their conversations. */
export async function werSamples(query: QueryLines, db: string, runId: string, perStep: number): Promise<Map<number, StepSeries>> {
  const raw = await rows<{ step: number; at: number[]; v: number[]; c: number[] }>(
    query,
    `SELECT step, groupArray(user_end_us) AS at, groupArray(wer) AS v, groupArray(cluster) AS c FROM (
       SELECT step, user_end_us, wer, ${CLUSTER} AS cluster FROM ${db}.turns WHERE run_id = ${quoteString(runId)} AND transcript != ''
       ORDER BY cityHash64(conversation_id, turn) LIMIT ${Math.floor(perStep)} BY step)
     GROUP BY step`,
  )
  return new Map(raw.map((r) => [r.step, inTimeOrder(r.at, r.v, r.c, 1)]))
}

export interface RecoveryBucketRow {
  bucket: number
  turns: number
  p95_ms: number
  failed: number
}

/**
 * The turns of one step in `buckets` equal slices of its time, by when the user stopped speaking: per slice, the
 * p95 of the experienced response latency and the turns that failed (an error or a hang-up). For spike recovery.
 */
export async function stepTimeline(query: QueryLines, db: string, runId: string, step: { step: number; start_us: number; end_us: number }, buckets: number): Promise<RecoveryBucketRow[]> {
  const width = Math.max(1, Math.floor((step.end_us - step.start_us) / buckets))
  const raw = await rows<{ bucket: number; turns: number; q: number[]; failed: number }>(
    query,
    `SELECT bucket, turns, q, failed FROM (
       SELECT intDiv(user_end_us - ${Math.floor(step.start_us)}, ${width}) AS bucket, count() AS turns,
              arraySort(groupArray(${EXPERIENCED_US})) AS sorted, ${type7QuantilesSql('sorted', [0.95])} AS q, countIf(error_kind != '' OR hung_up = 1) AS failed
       FROM ${db}.turns WHERE run_id = ${quoteString(runId)} AND step = ${Math.floor(step.step)} AND user_end_us > 0
       GROUP BY bucket)
     ORDER BY bucket`,
  )
  return raw.filter((r) => r.bucket >= 0 && r.bucket < buckets).map((r) => ({ bucket: r.bucket, turns: r.turns, p95_ms: (r.q[0] ?? 0) / 1000, failed: r.failed }))
}

export interface ResourceSeriesRow {
  target: string
  kind: string
  metric: string
  /** seconds since the run's first sample, per bucket */
  t: number[]
  /** the bucket's lowest value (memory's lower envelope starts here) */
  low: number[]
  /** the bucket's highest value (counters: the latest) */
  high: number[]
  /** µs of the first sample */
  t0_us: number
}

/**
 * Every sampled series of the run, in at most `buckets` time buckets each (min and max per bucket), so a week-long
 * soak sampled every second comes back as bounded as a minute's.
 */
export async function resourceSeries(query: QueryLines, db: string, runId: string, buckets: number): Promise<ResourceSeriesRow[]> {
  const [span] = await rows<{ first: number; last: number; n: number }>(query, `SELECT min(at_us) AS first, max(at_us) AS last, count() AS n FROM ${db}.resource_samples WHERE run_id = ${quoteString(runId)}`)
  if (span === undefined || span.n === 0) return []
  const width = Math.max(1, Math.ceil((span.last - span.first + 1) / buckets))
  const raw = await rows<{ target: string; kind: string; metric: string; b: number[]; lo: number[]; hi: number[] }>(
    query,
    `SELECT target, kind, metric, groupArray(b) AS b, groupArray(lo) AS lo, groupArray(hi) AS hi FROM (
       SELECT target, any(kind) AS kind, metric, intDiv(at_us - ${Math.floor(span.first)}, ${width}) AS b, min(value) AS lo, max(value) AS hi
       FROM ${db}.resource_samples WHERE run_id = ${quoteString(runId)} GROUP BY target, metric, b ORDER BY target, metric, b)
     GROUP BY target, kind, metric ORDER BY target, metric`,
  )
  return raw.map((r) => {
    const order = r.b.map((_, i) => i).sort((x, y) => (r.b[x] as number) - (r.b[y] as number))
    return { target: r.target, kind: r.kind, metric: r.metric, t: order.map((i) => ((r.b[i] as number) * width) / 1e6), low: order.map((i) => r.lo[i] as number), high: order.map((i) => r.hi[i] as number), t0_us: span.first }
  })
}

export interface AlertChangeRow {
  at_us: number
  rule: string
  state: string
  severity: string
  component: string
  value: number
  threshold: number
  message: string
}

/** The run's alert state changes, in order. */
export function alertChanges(query: QueryLines, db: string, runId: string): Promise<AlertChangeRow[]> {
  return rows<AlertChangeRow>(query, `SELECT at_us, rule, state, severity, component, value, threshold, message FROM ${db}.alerts WHERE run_id = ${quoteString(runId)} ORDER BY at_us, rule, component`)
}

/** A uniform sample of at most `n` answered turns of the given steps: when the user stopped speaking (µs) and the response latency (ms). */
export async function responseOverTime(query: QueryLines, db: string, runId: string, stepsIn: readonly number[], n: number): Promise<Array<{ at_us: number; ms: number }>> {
  if (stepsIn.length === 0) return []
  const raw = await rows<{ at_us: number; lat: number }>(
    query,
    `SELECT user_end_us AS at_us, ${EXPERIENCED_US} AS lat FROM ${db}.turns
     WHERE run_id = ${quoteString(runId)} AND user_end_us > 0 AND first_audio_us > 0 AND step IN (${stepsIn.map((s) => Math.floor(s)).join(', ')})
     ORDER BY cityHash64(conversation_id, turn) LIMIT ${Math.floor(n)}`,
  )
  return raw.map((r) => ({ at_us: r.at_us, ms: r.lat / 1000 })).sort((a, b) => a.at_us - b.at_us)
}
