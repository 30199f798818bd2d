/**
 * The report's SQL: what a run looks like over time, bounded however many hops it has. Every series is cut into at
 * most `buckets` equal slices of the run's wall-clock span and aggregated in ClickHouse (type-7 percentiles, as the
 * analyzer's), so a report of ten million hops carries the same few hundred points per series as one of a thousand.
 * Runs on Debian's 18.16 server as on the embedded engine.
 */
import { componentLatencySql } from '../latency.js'
import { type7QuantilesSql } from '../percentile.js'
import { EXPERIENCED_US, rows, type QueryLines } from './analysis.js'
import { quoteString } from './sql.js'

const LATENCY = componentLatencySql()


/** The run's time axis: its first and last moment (µs) and the width of one slice. */
export interface TimeAxis {
  t0_us: number
  t1_us: number
  width_us: number
}

/** The span the run's turns and hops cover, in at most `buckets` slices of at least a second; undefined for an empty run. */
export async function timeAxis(query: QueryLines, db: string, runId: string, buckets: number): Promise<TimeAxis | undefined> {
  const id = quoteString(runId)
  const spans = await rows<{ first: number; last: number; n: number }>(
    query,
    `SELECT min(start_us) AS first, max(greatest(end_us, start_us)) AS last, count() AS n FROM ${db}.hops WHERE run_id = ${id} AND start_us > 0
     UNION ALL
     SELECT min(user_start_us) AS first, max(greatest(end_us, user_start_us)) AS last, count() AS n FROM ${db}.turns WHERE run_id = ${id} AND user_start_us > 0`,
  )
  const present = spans.filter((s) => s.n > 0)
  if (present.length === 0) return undefined
  const t0 = Math.min(...present.map((s) => s.first))
  const t1 = Math.max(...present.map((s) => s.last))
  return { t0_us: t0, t1_us: t1, width_us: Math.max(1_000_000, Math.ceil((t1 - t0 + 1) / buckets)) }
}

const bucketOf = (column: string, axis: TimeAxis) => `intDiv(${column} - ${Math.floor(axis.t0_us)}, ${Math.floor(axis.width_us)})`

export interface ResponseBucket {
  /** the slice's index from the axis' start */
  b: number
  turns: number
  p50_ms: number
  p95_ms: number
  p99_ms: number
  /** turns that failed: an error or a hang-up */
  failed: number
  interrupted: number
  /** response-latency bands: < 0.5, 0.5–1, 1–2, 2–3, > 3 s */
  bands: number[]
}

/** Per slice (by when the user stopped speaking): the experienced response latency's p50/p95/p99, outcomes and bands. */
export async function responseOverTime(query: QueryLines, db: string, runId: string, axis: TimeAxis): Promise<ResponseBucket[]> {
  const raw = await rows<Omit<ResponseBucket, 'p50_ms' | 'p95_ms' | 'p99_ms'> & { q: number[] }>(
    query,
    `SELECT b, turns, ${type7QuantilesSql('sorted', [0.5, 0.95, 0.99])} AS q, failed, interrupted, bands FROM (
       SELECT ${bucketOf('user_end_us', axis)} AS b, count() AS turns, arraySort(groupArray(lat)) AS sorted,
              countIf(error_kind != '' OR hung_up = 1) AS failed, sum(interrupted) AS interrupted,
              [countIf(lat < 500000), countIf(lat >= 500000 AND lat < 1000000), countIf(lat >= 1000000 AND lat < 2000000),
               countIf(lat >= 2000000 AND lat < 3000000), countIf(lat >= 3000000)] AS bands
       FROM (SELECT user_end_us, error_kind, hung_up, interrupted, ${EXPERIENCED_US} AS lat FROM ${db}.turns
             WHERE run_id = ${quoteString(runId)} AND user_end_us >= ${Math.floor(axis.t0_us)})
       GROUP BY b) ORDER BY b`,
  )
  return raw.map(({ q, ...r }) => ({ ...r, p50_ms: (q[0] ?? 0) / 1000, p95_ms: (q[1] ?? 0) / 1000, p99_ms: (q[2] ?? 0) / 1000 }))
}

export interface ComponentBucket {
  component: string
  b: number
  hops: number
  p50_ms: number
  p95_ms: number
  p99_ms: number
  errors: number
}

/** Per component × slice (by the hop's start): its latency (src/latency.ts; lower bounds included) and its errors. */
export async function componentsOverTime(query: QueryLines, db: string, runId: string, axis: TimeAxis): Promise<ComponentBucket[]> {
  const raw = await rows<Omit<ComponentBucket, 'p50_ms' | 'p95_ms' | 'p99_ms'> & { q: number[] }>(
    query,
    `SELECT component, b, hops, ${type7QuantilesSql('sorted', [0.5, 0.95, 0.99])} AS q, errors FROM (
       SELECT component, ${bucketOf('start_us', axis)} AS b, count() AS hops, arraySort(groupArrayIf(latency_us, latency_us >= 0)) AS sorted,
              countIf(error_kind != '' AND error_kind != 'client_abort') AS errors
       FROM (SELECT component, start_us, error_kind, ${LATENCY.latencyUs} AS latency_us FROM ${db}.hops
             WHERE run_id = ${quoteString(runId)} AND auxiliary = 0 AND start_us >= ${Math.floor(axis.t0_us)})
       GROUP BY component, b) ORDER BY component, b`,
  )
  return raw.map(({ q, ...r }) => ({ ...r, p50_ms: (q[0] ?? 0) / 1000, p95_ms: (q[1] ?? 0) / 1000, p99_ms: (q[2] ?? 0) / 1000 }))
}

export interface ErrorBucket {
  /** `component_kind`, as the analysis names errors */
  kind: string
  b: number
  n: number
}

/** Hop errors per kind × slice (a caller's own abort is not one). */
export function errorsOverTime(query: QueryLines, db: string, runId: string, axis: TimeAxis): Promise<ErrorBucket[]> {
  return rows<ErrorBucket>(
    query,
    `SELECT concat(component, '_', error_kind) AS kind, ${bucketOf('start_us', axis)} AS b, count() AS n FROM ${db}.hops
     WHERE run_id = ${quoteString(runId)} AND error_kind != '' AND error_kind != 'client_abort' AND start_us >= ${Math.floor(axis.t0_us)}
     GROUP BY kind, b ORDER BY kind, b`,
  )
}

export interface ComponentTotal {
  component: string
  upstream: string
  hops: number
  /** hops with a latency (measured or a lower bound) */
  n: number
  censored: number
  p50_ms: number
  p90_ms: number
  p95_ms: number
  p99_ms: number
  max_ms: number
  errors: number
  /** the most frequent error kind ('' when none) */
  top_error: string
}

/** Per component × upstream over the whole run: count, p50/p90/p95/p99/max, errors and the share cut short. */
export async function componentTotals(query: QueryLines, db: string, runId: string): Promise<ComponentTotal[]> {
  const raw = await rows<Omit<ComponentTotal, 'p50_ms' | 'p90_ms' | 'p95_ms' | 'p99_ms' | 'max_ms' | 'top_error'> & { q: number[]; top: string[] }>(
    query,
    `SELECT component, upstream, hops, n, censored, ${type7QuantilesSql('sorted', [0.5, 0.9, 0.95, 0.99, 1])} AS q, errors, top FROM (
       SELECT component, upstream, count() AS hops, countIf(latency_us >= 0) AS n, countIf(latency_us >= 0 AND censored = 1) AS censored,
              arraySort(groupArrayIf(latency_us, latency_us >= 0)) AS sorted, countIf(error_kind != '' AND error_kind != 'client_abort') AS errors,
              topKIf(1)(error_kind, error_kind != '' AND error_kind != 'client_abort') AS top
       FROM (SELECT component, upstream, error_kind, ${LATENCY.latencyUs} AS latency_us, ${LATENCY.censored} AS censored FROM ${db}.hops
             WHERE run_id = ${quoteString(runId)} AND auxiliary = 0)
       GROUP BY component, upstream) ORDER BY component, upstream`,
  )
  return raw.map(({ q, top, ...r }) => ({ ...r, p50_ms: (q[0] ?? 0) / 1000, p90_ms: (q[1] ?? 0) / 1000, p95_ms: (q[2] ?? 0) / 1000, p99_ms: (q[3] ?? 0) / 1000, max_ms: (q[4] ?? 0) / 1000, top_error: top[0] ?? '' }))
}

/** Width of one bar of the response-time distribution, ms, and the bars before the last one takes the rest. */
export const HISTOGRAM_BIN_MS = 100
export const HISTOGRAM_BINS = 60

/** The experienced response latencies in bars of 100 ms, the last holding everything from 6 s. */
export async function responseHistogram(query: QueryLines, db: string, runId: string): Promise<number[]> {
  const raw = await rows<{ bin: number; n: number }>(
    query,
    `SELECT least(intDiv(greatest(${EXPERIENCED_US}, 0), ${HISTOGRAM_BIN_MS * 1000}), ${HISTOGRAM_BINS}) AS bin, count() AS n FROM ${db}.turns
     WHERE run_id = ${quoteString(runId)} AND user_end_us > 0 GROUP BY bin ORDER BY bin`,
  )
  const counts = new Array<number>(HISTOGRAM_BINS + 1).fill(0)
  for (const r of raw) counts[r.bin] = r.n
  return counts
}

export interface RunTotals {
  turns: number
  p50_ms: number
  p95_ms: number
  p99_ms: number
  errors: number
  interrupted: number
  hung_up: number
  /** mean word error rate of the turns with a transcript (NaN when none had one) */
  wer: number
  conversations: number
}

/** The whole run's callers in one row: turns, response p50/p95/p99, outcomes and WER. */
export async function runTotals(query: QueryLines, db: string, runId: string): Promise<RunTotals> {
  const [r] = await rows<Omit<RunTotals, 'p50_ms' | 'p95_ms' | 'p99_ms'> & { q: number[] }>(
    query,
    `SELECT turns, ${type7QuantilesSql('sorted', [0.5, 0.95, 0.99])} AS q, errors, interrupted, hung_up, wer, conversations FROM (
       SELECT count() AS turns, arraySort(groupArrayIf(${EXPERIENCED_US}, user_end_us > 0)) AS sorted, countIf(error_kind != '') AS errors,
              sum(interrupted) AS interrupted, sum(hung_up) AS hung_up, avgIf(wer, transcript != '') AS wer, uniqExact(conversation_id) AS conversations
       FROM ${db}.turns WHERE run_id = ${quoteString(runId)})`,
  )
  const q = r?.q ?? []
  return { turns: r?.turns ?? 0, p50_ms: (q[0] ?? 0) / 1000, p95_ms: (q[1] ?? 0) / 1000, p99_ms: (q[2] ?? 0) / 1000, errors: r?.errors ?? 0, interrupted: r?.interrupted ?? 0, hung_up: r?.hung_up ?? 0, wer: typeof r?.wer === 'number' ? r.wer : Number.NaN, conversations: r?.conversations ?? 0 }
}

export interface WaterfallTurn {
  conversation_id: string
  turn: number
  step: number
  user_end_us: number
  first_audio_us: number
  response_ms: number
  hops: Array<{ component: string; upstream: string; start_us: number; first_payload_us: number; final_us: number; end_us: number; error_kind: string }>
}

/** The answered turn at the median response time and the `slowest` slowest ones, each with its hops' moments. */
export async function waterfallTurns(query: QueryLines, db: string, runId: string, slowest: number): Promise<{ median: WaterfallTurn | undefined; slowest: WaterfallTurn[] }> {
  const id = quoteString(runId)
  const answered = `FROM ${db}.turns WHERE run_id = ${id} AND user_end_us > 0 AND first_audio_us > user_end_us`
  const [count] = await rows<{ n: number }>(query, `SELECT count() AS n ${answered}`)
  const n = count?.n ?? 0
  if (n === 0) return { median: undefined, slowest: [] }
  const pick = `SELECT conversation_id, turn, step, user_end_us, first_audio_us, (first_audio_us - user_end_us) / 1000 AS response_ms ${answered}`
  const chosen = [
    ...(await rows<Omit<WaterfallTurn, 'hops'>>(query, `${pick} ORDER BY first_audio_us - user_end_us, conversation_id, turn LIMIT ${Math.floor((n - 1) / 2)}, 1`)),
    ...(await rows<Omit<WaterfallTurn, 'hops'>>(query, `${pick} ORDER BY first_audio_us - user_end_us DESC, conversation_id, turn LIMIT ${Math.floor(slowest)}`)),
  ]
  const keys = chosen.map((t) => `(${quoteString(t.conversation_id)}, ${Math.floor(t.turn)})`).join(', ')
  const hops = await rows<WaterfallTurn['hops'][number] & { conversation_id: string; turn: number }>(
    query,
    `SELECT conversation_id, turn, component, upstream, start_us, first_payload_us, final_us, end_us, error_kind FROM ${db}.hops
     WHERE run_id = ${id} AND auxiliary = 0 AND (conversation_id, turn) IN (${keys}) ORDER BY start_us`,
  )
  const withHops = chosen.map((t) => ({ ...t, hops: hops.filter((h) => h.conversation_id === t.conversation_id && h.turn === t.turn).map(({ conversation_id: _c, turn: _t, ...h }) => h) }))
  return { median: withHops[0], slowest: withHops.slice(1) }
}

/** The run's span, recorded config and version, as the runs table keeps them (credentials redacted at write). */
export async function runRecord(query: QueryLines, db: string, runId: string): Promise<{ started_us: number; ended_us: number; hopwatch_version: string; config_json: string } | undefined> {
  const [r] = await rows<{ started_us: number; ended_us: number; hopwatch_version: string; config_json: string }>(
    query,
    `SELECT min(started_us) AS started_us, max(ended_us) AS ended_us, argMax(hopwatch_version, updated_us) AS hopwatch_version, argMax(config_json, updated_us) AS config_json
     FROM ${db}.runs WHERE run_id = ${quoteString(runId)} GROUP BY run_id`,
  )
  return r
}

/** The engine's version (`SELECT version()`). */
export async function engineVersion(query: QueryLines): Promise<string> {
  const [r] = await rows<{ v: string }>(query, 'SELECT version() AS v')
  return r?.v ?? ''
}
