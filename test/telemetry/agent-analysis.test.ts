import assert from 'node:assert/strict'
import { test } from 'node:test'
import { analyzeStoredRun } from '../../src/analyze/index.js'
import { queryJsonLines } from '../../src/store/index.js'
import { AgentSpanAssembler, RecentHops, type OtlpSpan } from '../../src/telemetry/otlp/index.js'
import type { HopRecord } from '../../src/types.js'
import { hopRow } from '../support/rows.js'
import { onEachEngine } from '../support/engines.js'

const T0 = 1_790_000_000_000_000
/** the port the agent's LLM calls went to: the proxy's */
const PROXY_PORT = 8080

/**
 * The same LLM calls as the proxy timed them, without a traceparent: all on one keep-alive connection (so one
 * conversation of the proxy's, turns 1…12), each inside its span, TTFT 300 ms + 10 ms a turn.
 */
function proxyHops(): HopRecord[] {
  const hops: HopRecord[] = []
  for (const c of [1, 2]) {
    for (let n = 1; n <= 6; n++) {
      const start = T0 + c * 1e6 + n * 8e6 + 1.61e6
      hops.push(hopRow(hops.length, { run_id: 'run-joined', conversation_id: 'conn-7', turn: hops.length + 1, hop_id: `proxy-${c}-${n}`, component: 'llm', upstream: 'llm', model: 'gpt-4o-mini', start_us: start, request_end_us: start + 1000, response_start_us: start + 2000, first_byte_us: start + 2000, first_payload_us: start + (300 + n * 10) * 1000, final_us: start + 800_000, end_us: start + 850_000 }))
    }
  }
  return hops
}
const id = (n: number, width: number) => n.toString(16).padStart(width, '0')

/** Two Pipecat conversations side by side, six turns each; the LLM's TTFB grows 20 ms a turn from 420 ms. */
function pipecatSpans(): OtlpSpan[] {
  const spans: OtlpSpan[] = []
  let next = 1
  const span = (traceId: string, parent: string, name: string, startUs: number, endUs: number, attributes: OtlpSpan['attributes']): string => {
    const spanId = id(next++, 16)
    spans.push({ traceId, spanId, parentSpanId: parent, name, kind: 1, startUs, endUs, attributes, events: [], statusCode: 0, statusMessage: '', resource: { 'service.name': 'bot' }, scope: 'pipecat' })
    return spanId
  }
  for (const c of [1, 2]) {
    const traceId = id(c, 32)
    const conversation = span(traceId, '', 'conversation', T0, T0 + 60e6, { 'conversation.id': `conv-${c}` })
    for (let n = 1; n <= 6; n++) {
      const base = T0 + c * 1e6 + n * 8e6
      const turn = span(traceId, conversation, 'turn', base, base + 4e6, { 'turn.number': n, 'conversation.id': `conv-${c}`, 'turn.user_turn_seconds': 1.5, 'turn.user_bot_latency_seconds': 1 })
      span(traceId, turn, 'stt', base + 1.5e6, base + 1.6e6, { 'metrics.ttfb': 0.2 })
      span(traceId, turn, 'llm', base + 1.6e6, base + 2.6e6, { 'metrics.ttfb': 0.4 + n * 0.02, 'gen_ai.request.model': 'gpt-4o-mini', 'server.port': PROXY_PORT })
      span(traceId, turn, 'tts', base + 2.1e6, base + 3e6, { 'metrics.ttfb': 0.15 })
    }
  }
  // children first, as exporters send them
  return spans.reverse()
}

onEachEngine((engine) => `an agent's own spans in the analysis, on the ${engine}`, (on) => {
  test('a proxy run without load steps is one observed step: its turns, load and component latencies come from the agent\'s spans', async () => {
    const tables: Record<string, object[]> = { spans: [], hops: [], turns: [] }
    const assembler = new AgentSpanAssembler({ runId: 'run-agent', keepContent: false, holdMs: 30_000, maxHeld: 1000, recordTurns: true, row: (table, row) => tables[table]!.push(row) })
    assembler.ingest(pipecatSpans())
    assembler.close()
    for (const [table, values] of Object.entries(tables)) await on.store.client.insert({ table: `hopwatch.${table}`, values, format: 'JSONEachRow' })
    await on.store.client.insert({ table: 'hopwatch.runs', values: [{ run_id: 'run-agent', name: '', source: 'proxy', started_us: T0, ended_us: T0 + 60e6, hopwatch_version: 'test', config_json: '{}', updated_us: T0 }], format: 'JSONEachRow' })

    const analysis = await analyzeStoredRun((sql) => queryJsonLines(on.store, sql), 'hopwatch', 'run-agent')
    assert.ok(analysis !== undefined)
    assert.equal(analysis.steps.length, 1)
    const step = analysis.steps[0]!
    assert.equal(step.turns?.turns, 12)
    assert.equal(step.load, 2)
    assert.equal(step.turns?.p95_ms, 1000)
    assert.equal(step.components.llm?.p95_ms, 520)
    assert.equal(step.components.stt?.p95_ms, 200)
    assert.equal(step.components.tts?.p95_ms, 150)
    assert.equal(step.components.llm?.n, 12)
  })

  test('proxy hops joined to the agent\'s spans without a traceparent are judged in the spans\' turns, and counted once', async () => {
    const tables: Record<string, object[]> = { spans: [], hops: [], turns: [] }
    const recent = new RecentHops()
    recent.listening([PROXY_PORT])
    const timed = proxyHops()
    // as the proxy publishes them: in the order they ended
    for (const hop of [...timed].sort((x, y) => x.end_us - y.end_us)) recent.add(hop)
    const assembler = new AgentSpanAssembler({ runId: 'run-joined', keepContent: false, holdMs: 30_000, maxHeld: 1000, recordTurns: true, row: (table, row) => tables[table]!.push(row) }, recent)
    assembler.ingest(pipecatSpans().map((s) => ({ ...s, attributes: { ...s.attributes } })))
    assembler.close()
    assert.equal(assembler.stats.joined, 12)
    for (const [table, values] of Object.entries({ ...tables, hops: [...tables.hops!, ...timed] })) await on.store.client.insert({ table: `hopwatch.${table}`, values, format: 'JSONEachRow' })
    await on.store.client.insert({ table: 'hopwatch.runs', values: [{ run_id: 'run-joined', name: '', source: 'proxy', started_us: T0, ended_us: T0 + 60e6, hopwatch_version: 'test', config_json: '{}', updated_us: T0 }], format: 'JSONEachRow' })

    const analysis = await analyzeStoredRun((sql) => queryJsonLines(on.store, sql), 'hopwatch', 'run-joined')
    const step = analysis!.steps[0]!
    // the proxy's own TTFTs (310 … 360 ms), once each, in the agent's turns
    assert.equal(step.components.llm?.n, 12)
    assert.equal(step.components.llm?.p95_ms, 360)
  })
})
