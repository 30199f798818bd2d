import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { analyzeStoredRun } from '../../src/analyze/index.js'
import { queryJsonLines, type Store } from '../../src/store/index.js'
import { AgentSpanAssembler, type OtlpSpan } from '../../src/telemetry/otlp/index.js'
import { ENGINES, type EngineUnderTest } from '../support/engines.js'

const T0 = 1_790_000_000_000_000
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
      span(traceId, turn, 'llm', base + 1.6e6, base + 2.6e6, { 'metrics.ttfb': 0.4 + n * 0.02, 'gen_ai.request.model': 'gpt-4o-mini' })
      span(traceId, turn, 'tts', base + 2.1e6, base + 3e6, { 'metrics.ttfb': 0.15 })
    }
  }
  // children first, as exporters send them
  return spans.reverse()
}

for (const makeEngine of ENGINES) {
  describe(`an agent's own spans in the analysis, on the ${makeEngine === ENGINES[0] ? 'embedded engine' : 'Debian ClickHouse server'}`, () => {
    let engine: EngineUnderTest
    let store: Store
    before(async () => {
      engine = await makeEngine()
      store = await engine.open()
    })
    after(() => engine.dispose())

    test('a proxy run without load steps is one observed step: its turns, load and component latencies come from the agent\'s spans', async () => {
      const tables: Record<string, object[]> = { spans: [], hops: [], turns: [] }
      const assembler = new AgentSpanAssembler({ runId: 'run-agent', keepContent: false, holdMs: 30_000, maxHeld: 1000, recordTurns: true, row: (table, row) => tables[table]!.push(row) })
      assembler.ingest(pipecatSpans())
      assembler.close()
      for (const [table, values] of Object.entries(tables)) await store.client.insert({ table: `hopwatch.${table}`, values, format: 'JSONEachRow' })
      await store.client.insert({ table: 'hopwatch.runs', values: [{ run_id: 'run-agent', name: '', source: 'proxy', started_us: T0, ended_us: T0 + 60e6, hopwatch_version: 'test', config_json: '{}', updated_us: T0 }], format: 'JSONEachRow' })

      const analysis = await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', 'run-agent')
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
  })
}
