/**
 * hopwatch's Grafana dashboards (overview, per component, soak) over the store's tables, for the official ClickHouse
 * data source. Their SQL is made from the same definitions as the analyzer's: each component's latency
 * (src/latency.ts), the caller's response time (store/analysis.ts) and type-7 percentiles (src/percentile.ts).
 *
 * Time: every table has `time`, its time column as a DateTime (migration 6). Panels filter with the plugin's
 * `$__timeFilter(time)` and slice with `$__interval_s`: the plugin's `$__timeInterval(time)` expands to
 * `toStartOfInterval`, which Debian's ClickHouse 18.16 does not have (Code 46), while `intDiv` on `$__interval_s`
 * gives the same slices on every server.
 */
import { componentLatencySql } from '../../latency.js'
import { type7QuantilesSql } from '../../percentile.js'
import { EXPERIENCED_US } from '../../store/index.js'
import { annotation, dashboard, databaseVariable, datasourceVariable, Layout, queryVariable, type Dashboard, type Variable } from './kit.js'

const LATENCY = componentLatencySql()
/** The run chosen and the dashboard's time range. */
const RUN = `run_id = '\${run_id}' AND $__timeFilter(time)`
/** A slice of the dashboard's interval, as a DateTime. */
const SLICE = 'toDateTime(intDiv(toUInt32(time), $__interval_s) * $__interval_s)'
const T = (table: string) => `\${database}.${table}`
const q3 = type7QuantilesSql('sorted', [0.5, 0.95, 0.99])
/** A turn's response time in ms: user stops speaking → first agent audio (a lower bound when none came). */
const RESPONSE_MS = `(${EXPERIENCED_US}) / 1000`
const HOP_ERROR = "error_kind != '' AND error_kind != 'client_abort'"
const COMPONENTS = 'component IN (${component})'
const UPSTREAMS = '$__conditionalAll(upstream IN (${upstream}), $upstream)'

const runVariable = queryVariable('run_id', 'run', `SELECT run_id FROM ${T('runs')} GROUP BY run_id ORDER BY max(started_us) DESC LIMIT 500`)
const componentVariable = queryVariable('component', 'component', `SELECT DISTINCT component FROM ${T('hops')} WHERE run_id = '\${run_id}' ORDER BY component`, { multi: true, includeAll: true })
const upstreamVariable = queryVariable('upstream', 'upstream', `SELECT DISTINCT upstream FROM ${T('hops')} WHERE run_id = '\${run_id}' AND component IN (\${component}) ORDER BY upstream`, { multi: true, includeAll: true })
const conversationVariable: Variable = { type: 'textbox', name: 'conversation_id', label: 'conversation', query: '', hide: 0 }

const stepsAnnotation = annotation(
  'load steps',
  'rgba(120, 120, 120, 0.6)',
  `SELECT time, toDateTime(intDiv(end_us, 1000000)) AS timeEnd, concat('step ', toString(step), ': ', phase, ' at load ', toString(target_load)) AS text
   FROM ${T('steps')} WHERE ${RUN} ORDER BY time`,
)
const alertsAnnotation = annotation(
  'live alerts',
  'red',
  `SELECT time, concat(rule, ' ', component, ': ', state, ' (', message, ')') AS text FROM ${T('alerts')} WHERE ${RUN} AND state IN ('firing', 'resolved') ORDER BY time`,
)

function overview(): Dashboard {
  const turns = `FROM ${T('turns')} WHERE ${RUN}`
  const layout = new Layout()
    .add({ type: 'stat', title: 'Turns', description: 'Turns that started in the time range.', unit: 'short', w: 4, h: 4, queryType: 'table', sql: `SELECT count() AS turns ${turns}` })
    .add({
      type: 'stat', title: 'Response p50 / p95 / p99', description: 'User stops speaking → first agent audio (type-7 percentiles, as hopwatch analyze).', unit: 'ms', w: 8, h: 4, queryType: 'table',
      sql: `SELECT q[1] AS p50, q[2] AS p95, q[3] AS p99 FROM (SELECT arraySort(groupArray(lat)) AS sorted, ${q3} AS q FROM (SELECT ${RESPONSE_MS} AS lat ${turns} AND user_end_us > 0))`,
    })
    .add({ type: 'stat', title: 'Errors / interrupted / hung up', description: 'Shares of turns.', unit: 'percentunit', w: 6, h: 4, queryType: 'table', sql: `SELECT countIf(error_kind != '') / count() AS errors, sum(interrupted) / count() AS interrupted, sum(hung_up) / count() AS hung_up ${turns}` })
    .add({ type: 'stat', title: 'Mean WER', description: 'Word error rate of the STT, over turns with a transcript.', unit: 'none', w: 3, h: 4, queryType: 'table', sql: `SELECT avgIf(wer, transcript != '') AS wer ${turns}` })
    .add({ type: 'stat', title: 'Peak conversations', description: 'The highest load a step achieved (shards added up).', unit: 'short', w: 3, h: 4, queryType: 'table', sql: `SELECT max(achieved) AS peak FROM (SELECT step, sum(achieved_load) AS achieved FROM ${T('steps')} WHERE ${RUN} GROUP BY step)` })
    .add({
      type: 'timeseries', title: 'Response time p50 / p95 / p99', description: 'Per slice of the interval, by when the turn started; load steps are annotations.', unit: 'ms', queryType: 'timeseries',
      sql: `SELECT t, q[1] AS p50, q[2] AS p95, q[3] AS p99 FROM (
              SELECT ${SLICE} AS t, arraySort(groupArray(lat)) AS sorted, ${q3} AS q FROM (SELECT time, ${RESPONSE_MS} AS lat ${turns} AND user_end_us > 0) GROUP BY t)
            ORDER BY t`,
    })
    .add({ type: 'heatmap', title: 'Response time heatmap', description: 'Every turn\'s response time (at most 50,000 turns).', unit: 'ms', queryType: 'table', options: { calculate: true, yAxis: { unit: 'ms' } }, sql: `SELECT time, ${RESPONSE_MS} AS response_ms ${turns} AND user_end_us > 0 ORDER BY time LIMIT 50000` })
    .add({
      type: 'timeseries', title: 'UX bands', description: 'Share of turns per response-time band, stacked.', unit: 'percentunit', queryType: 'timeseries', custom: { stacking: { mode: 'normal' }, fillOpacity: 60 },
      sql: `SELECT ${SLICE} AS t, countIf(lat < 500) / count() AS \`under 0.5 s\`, countIf(lat >= 500 AND lat < 1000) / count() AS \`0.5-1 s\`, countIf(lat >= 1000 AND lat < 2000) / count() AS \`1-2 s\`,
              countIf(lat >= 2000 AND lat < 3000) / count() AS \`2-3 s\`, countIf(lat >= 3000) / count() AS \`over 3 s\`
            FROM (SELECT time, ${RESPONSE_MS} AS lat ${turns} AND user_end_us > 0) GROUP BY t ORDER BY t`,
    })
    .add({
      type: 'barchart', title: 'The knee: response p95 and failures per step', description: 'Per load step: the callers\' response p95 and the share of turns that failed (an error or a hang-up).', unit: 'ms', queryType: 'table',
      options: { xField: 'step_load', orientation: 'vertical' },
      sql: `SELECT concat('step ', toString(step), ' (', toString(load), ')') AS step_load, q[2] AS response_p95, failed / turns AS failed_share FROM (
              SELECT step, count() AS turns, countIf(error_kind != '' OR hung_up = 1) AS failed, arraySort(groupArrayIf(lat, lat >= 0)) AS sorted, ${q3} AS q
              FROM (SELECT step, error_kind, hung_up, if(user_end_us > 0, ${RESPONSE_MS}, -1) AS lat ${turns}) GROUP BY step) AS x
            ALL INNER JOIN (SELECT step, sum(target_load) AS load FROM ${T('steps')} WHERE run_id = '\${run_id}' GROUP BY step) AS s USING step
            ORDER BY step`,
    })
    .add({
      type: 'timeseries', title: 'Errors by kind', description: 'Failed hops per slice by component and kind (a caller\'s own interruption is not one).', unit: 'short', queryType: 'timeseries',
      sql: `SELECT ${SLICE} AS t, concat(component, '_', error_kind) AS kind, count() AS n FROM ${T('hops')} WHERE ${RUN} AND auxiliary = 0 AND ${HOP_ERROR} GROUP BY t, kind ORDER BY t`,
    })
    .add({
      type: 'table', title: 'Turns of a conversation', description: 'Type a conversation id in the variable above; empty shows the first 200 turns of the run.', unit: 'none', w: 24, queryType: 'table',
      sql: `SELECT time, conversation_id, turn, step, persona, ${RESPONSE_MS} AS response_ms, success, interrupted, hung_up, error_kind, hop_count
            ${turns} AND $__conditionalAll(conversation_id = '\${conversation_id}', $conversation_id) ORDER BY time, conversation_id, turn LIMIT 200`,
    })
  return dashboard('hopwatch-overview', 'hopwatch — overview', 'A run as its callers experienced it: the verdict\'s numbers, response time over time and per step, errors.', [datasourceVariable, databaseVariable, runVariable, conversationVariable], [stepsAnnotation, alertsAnnotation], layout)
}

function components(): Dashboard {
  const hops = `FROM ${T('hops')} WHERE ${RUN} AND auxiliary = 0 AND ${COMPONENTS} AND ${UPSTREAMS}`
  const byComponent = (component: string) => `arraySort(groupArrayIf(latency_us, component = '${component}' AND latency_us >= 0))`
  const layout = new Layout()
    .add({
      type: 'table', title: 'Components × upstreams', description: 'Each component\'s latency as hopwatch judges it (STT final transcript, LLM first token, TTS first audio, backend whole call; lower bounds included).', unit: 'none', w: 24, queryType: 'table',
      sql: `SELECT component, upstream, hops, q[1] / 1000 AS p50_ms, q[2] / 1000 AS p95_ms, q[3] / 1000 AS p99_ms, errors / hops AS error_share, top[1] AS top_error FROM (
              SELECT component, upstream, count() AS hops, arraySort(groupArrayIf(latency_us, latency_us >= 0)) AS sorted, ${q3} AS q,
                     countIf(${HOP_ERROR}) AS errors, topKIf(1)(error_kind, ${HOP_ERROR}) AS top
              FROM (SELECT component, upstream, error_kind, ${LATENCY.latencyUs} AS latency_us ${hops}) GROUP BY component, upstream)
            ORDER BY component, upstream`,
    })
    .add({
      type: 'barchart', title: 'Latency budget of the median turn', description: 'Each component\'s median latency, stacked in the order a cascaded turn meets them: STT → LLM → backend → TTS.', unit: 'ms', w: 24, h: 6, queryType: 'table',
      options: { xField: 'turn', orientation: 'horizontal', stacking: 'normal' },
      sql: `SELECT 'median turn' AS turn, ${['stt', 'llm', 'backend', 'tts'].map((c) => `${type7QuantilesSql(byComponent(c), [0.5])}[1] / 1000 AS ${c}`).join(', ')}
            FROM (SELECT component, ${LATENCY.latencyUs} AS latency_us FROM ${T('hops')} WHERE ${RUN} AND auxiliary = 0)`,
    })
    .add({
      type: 'timeseries', title: 'LLM tokens/s and TTS real-time factor', description: 'Over every LLM and TTS upstream chosen: tokens per second while an LLM streams; seconds of TTS work per second of audio (under 1 keeps up with playback).', unit: 'short', w: 24, queryType: 'timeseries',
      sql: `SELECT ${SLICE} AS t, avgIf(tokens_out / ((end_us - first_payload_us) / 1e6), tokens_out > 0 AND first_payload_us > 0 AND end_us > first_payload_us) AS tokens_per_s,
              avgIf(((end_us - start_us) / 1000) / audio_ms, audio_ms > 0 AND end_us > start_us) AS audio_rtf
            FROM ${T('hops')} WHERE ${RUN} AND auxiliary = 0 AND component IN ('llm', 'tts') AND ${UPSTREAMS} GROUP BY t ORDER BY t`,
    })
    .row('$component', 'component')
    .add({
      type: 'timeseries', title: 'Latency p50 / p95 / p99 per upstream', description: 'Time to the judged moment (first token, first audio, final transcript), per slice and upstream.', unit: 'ms', queryType: 'timeseries',
      sql: `SELECT t, upstream, q[1] / 1000 AS p50, q[2] / 1000 AS p95, q[3] / 1000 AS p99 FROM (
              SELECT ${SLICE} AS t, upstream, arraySort(groupArrayIf(latency_us, latency_us >= 0)) AS sorted, ${q3} AS q
              FROM (SELECT time, upstream, ${LATENCY.latencyUs} AS latency_us ${hops}) GROUP BY t, upstream)
            ORDER BY t`,
    })
    .add({
      type: 'timeseries', title: 'Total duration p95 per upstream', description: 'Start of the request to the end of the response (a stream included).', unit: 'ms', queryType: 'timeseries',
      sql: `SELECT t, upstream, q[2] / 1000 AS p95 FROM (
              SELECT ${SLICE} AS t, upstream, arraySort(groupArray(end_us - start_us)) AS sorted, ${q3} AS q FROM (SELECT time, upstream, start_us, end_us ${hops} AND end_us >= start_us) GROUP BY t, upstream)
            ORDER BY t`,
    })
    .add({ type: 'heatmap', title: 'Latency heatmap', description: 'Every hop\'s judged latency (at most 50,000).', unit: 'ms', queryType: 'table', options: { calculate: true, yAxis: { unit: 'ms' } }, sql: `SELECT time, latency_us / 1000 AS latency_ms FROM (SELECT time, ${LATENCY.latencyUs} AS latency_us ${hops}) WHERE latency_us >= 0 ORDER BY time LIMIT 50000` })
    .add({
      type: 'xychart', title: 'Saturation: in flight at start vs latency', description: 'Each hop\'s latency against the calls to its component already in flight when it started: a queue shows as latency rising with in-flight.', unit: 'ms', queryType: 'table',
      options: { seriesMapping: 'auto', series: [{ x: 'in_flight', y: 'latency_ms' }] },
      sql: `SELECT in_flight, latency_us / 1000 AS latency_ms FROM (SELECT in_flight, ${LATENCY.latencyUs} AS latency_us ${hops}) WHERE latency_us >= 0 LIMIT 20000`,
    })
  return dashboard('hopwatch-components', 'hopwatch — per component', 'Each component and upstream: latency over time, heatmap, saturation, throughput, and the median turn\'s latency budget.', [datasourceVariable, databaseVariable, runVariable, componentVariable, upstreamVariable], [stepsAnnotation], layout)
}

function soak(): Dashboard {
  const samples = (metrics: string) => `FROM ${T('resource_samples')} WHERE ${RUN} AND metric IN (${metrics})`
  const layout = new Layout()
    .add({ type: 'timeseries', title: 'Memory (RSS)', description: 'Highest resident memory per slice and target: a leak raises the floor.', unit: 'bytes', queryType: 'timeseries', sql: `SELECT ${SLICE} AS t, target, max(value) AS rss ${samples("'rss_bytes', 'memory_bytes'")} GROUP BY t, target ORDER BY t` })
    .add({
      type: 'timeseries', title: 'CPU (cores)', description: 'CPU seconds used per second between consecutive slices, per target (the counter\'s latest value in each).', unit: 'short', queryType: 'timeseries',
      sql: `SELECT t, target, cores FROM (
              SELECT target, ts, arrayMap((v1, v0, l1, l0) -> (v1 - v0) / greatest((l1 - l0) / 1000000, 0.001), arrayPopFront(vs), arrayPopBack(vs), arrayPopFront(ls), arrayPopBack(ls)) AS rates FROM (
                SELECT target, arraySort(groupArray(t)) AS ts, arraySort((v, k) -> k, groupArray(v), groupArray(t)) AS vs, arraySort((l, k) -> k, groupArray(last_us), groupArray(t)) AS ls
                FROM (SELECT ${SLICE} AS t, target, max(value) AS v, max(at_us) AS last_us ${samples("'cpu_seconds'")} GROUP BY t, target) GROUP BY target))
            ARRAY JOIN arrayPopFront(ts) AS t, rates AS cores
            ORDER BY t`,
    })
    .add({ type: 'timeseries', title: 'Open file descriptors', description: 'Highest per slice and target: sockets that are never closed climb here.', unit: 'short', queryType: 'timeseries', sql: `SELECT ${SLICE} AS t, target, max(value) AS fds ${samples("'open_fds'")} GROUP BY t, target ORDER BY t` })
    .add({ type: 'timeseries', title: 'Threads', description: 'Highest per slice and target.', unit: 'short', queryType: 'timeseries', sql: `SELECT ${SLICE} AS t, target, max(value) AS threads ${samples("'threads'")} GROUP BY t, target ORDER BY t` })
    .add({
      type: 'timeseries', title: 'Latency creep: response p50 and p95', description: 'A soak at one load: a median that climbs over hours is a slow leak of time (hopwatch analyze fits its trend).', unit: 'ms', w: 24, queryType: 'timeseries',
      sql: `SELECT t, q[1] AS p50, q[2] AS p95 FROM (
              SELECT ${SLICE} AS t, arraySort(groupArray(lat)) AS sorted, ${q3} AS q FROM (SELECT time, ${RESPONSE_MS} AS lat FROM ${T('turns')} WHERE ${RUN} AND first_audio_us > 0) GROUP BY t)
            ORDER BY t`,
    })
  return dashboard('hopwatch-soak', 'hopwatch — soak', 'A long run at one load: memory, CPU, fds and threads per process, live alerts as annotations, and latency creep.', [datasourceVariable, databaseVariable, runVariable], [alertsAnnotation, stepsAnnotation], layout)
}

/** Every dashboard by its file name in dashboards/. */
export function dashboards(): Record<string, Dashboard> {
  return { 'hopwatch-overview.json': overview(), 'hopwatch-components.json': components(), 'hopwatch-soak.json': soak() }
}
