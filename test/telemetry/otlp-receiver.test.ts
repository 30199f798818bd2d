import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { gzipSync } from 'node:zlib'
import { after, before, beforeEach, test } from 'node:test'
import { context, trace, type Span, type Tracer } from '@opentelemetry/api'
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import type { RunningProxy } from '../../src/proxy/index.js'
import { AgentTraces, type SpanRow } from '../../src/telemetry/otlp/index.js'
import { ProxyMetrics } from '../../src/telemetry/metrics.js'
import type { HopRecord, TurnRecord } from '../../src/types.js'
import { HopCollector } from '../support/hops.js'
import { startTestProxy } from '../support/proxy.js'
import { listenHttp, type Listening } from '../support/servers.js'

type Rows = { spans: SpanRow[]; hops: HopRecord[]; turns: TurnRecord[] }
const rows: Rows = { spans: [], hops: [], turns: [] }
let llm: Listening
let proxy: RunningProxy
let traces: AgentTraces

before(async () => {
  llm = await listenHttp((_req, res) => setTimeout(() => res.end('{"ok":true}'), 20))
  traces = new AgentTraces({ runId: 'run-otlp', maxBodyBytes: 64 * 1024, holdS: 30, keepContent: false, recordTurns: true, row: (table, row) => (rows[table] as object[]).push(row) })
  proxy = await startTestProxy([{ name: 'llm', component: 'llm', target: llm.url, prefix: '/llm' }], {}, {}, traces)
  traces.listening([proxy.url])
})
after(async () => {
  await proxy.close()
  traces.close()
  await llm.close()
})
beforeEach(() => {
  rows.spans.length = 0
  rows.hops.length = 0
  rows.turns.length = 0
})

/** A tracer whose every span is sent on its own as it ends (children before their parents, as in real life). */
function tracerWith(exporter: SpanExporter, service: string): { tracer: Tracer; provider: BasicTracerProvider } {
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor(exporter)] })
  return { tracer: provider.getTracer(service === 'pipecat-bot' ? 'pipecat' : 'livekit-agents'), provider }
}

const at = (ms: number) => new Date(1_800_000_000_000 + ms)

function child(tracer: Tracer, parent: Span, name: string, startMs: number, endMs: number, attributes: Record<string, string | number | boolean>): void {
  const span = tracer.startSpan(name, { startTime: at(startMs), attributes }, trace.setSpan(context.active(), parent))
  span.end(at(endMs))
}

test('spans sent by the official OTel protobuf exporter in Pipecat\'s shape become a turn and its STT, LLM and TTS hops', async () => {
  const { tracer, provider } = tracerWith(new ProtoExporter({ url: `${proxy.url}/v1/traces` }), 'pipecat-bot')
  const conversation = tracer.startSpan('conversation', { startTime: at(0), attributes: { 'conversation.id': 'conv-pc', 'conversation.type': 'voice' } })
  for (const n of [1, 2]) {
    const base = n * 10_000
    const turn = tracer.startSpan('turn', { startTime: at(base), attributes: { 'turn.number': n, 'turn.type': 'conversation', 'conversation.id': 'conv-pc' } }, trace.setSpan(context.active(), conversation))
    child(tracer, turn, 'stt', base + 1500, base + 1600, { 'gen_ai.provider.name': 'deepgram', 'gen_ai.request.model': 'nova-3', 'gen_ai.operation.name': 'stt', transcript: 'book a table', is_final: true, 'metrics.ttfb': 0.25 })
    child(tracer, turn, 'llm', base + 1600, base + 2600, { 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 120, 'gen_ai.usage.output_tokens': 30, 'metrics.ttfb': 0.4, input: '[{"role":"user"}]' })
    child(tracer, turn, 'tts', base + 2000, base + 3000, { 'gen_ai.provider.name': 'cartesia', 'gen_ai.request.model': 'sonic', 'gen_ai.operation.name': 'tts', text: 'sure', 'metrics.ttfb': 0.15, 'metrics.character_count': 4 })
    turn.setAttributes({ 'turn.user_turn_seconds': 1.2, 'turn.user_bot_latency_seconds': 0.9, 'turn.duration_seconds': 4, 'turn.was_interrupted': false })
    turn.end(at(base + 4000))
  }
  conversation.end(at(30_000))
  await provider.forceFlush()
  await provider.shutdown()

  assert.equal(rows.spans.length, 9)
  assert.deepEqual(rows.turns.map((t) => [t.conversation_id, t.turn, t.first_audio_us - t.user_end_us, t.success]), [['conv-pc', 1, 900_000, 1], ['conv-pc', 2, 900_000, 1]])
  assert.equal(rows.hops.length, 6)
  for (const hop of rows.hops) {
    assert.equal(hop.conversation_id, 'conv-pc')
    assert.ok(hop.turn === 1 || hop.turn === 2)
    assert.equal(hop.adapter, 'pipecat')
    assert.equal(hop.transport, 'agent')
    assert.equal(hop.run_id, 'run-otlp')
  }
  const llmHop = rows.hops.find((h) => h.component === 'llm' && h.turn === 2)!
  assert.deepEqual([llmHop.upstream, llmHop.model, llmHop.tokens_in, llmHop.tokens_out, llmHop.first_payload_us - llmHop.start_us], ['openai', 'gpt-4o-mini', 120, 30, 400_000])
  const sttHop = rows.hops.find((h) => h.component === 'stt')!
  assert.equal(sttHop.final_us - sttHop.request_end_us, 250_000)
  const ttsHop = rows.hops.find((h) => h.component === 'tts')!
  assert.equal(ttsHop.first_payload_us - ttsHop.start_us, 150_000)
  // content is not kept unless asked: no transcript, prompt or text reaches the store
  const stored = rows.spans.map((s) => JSON.parse(s.attributes) as Record<string, unknown>)
  assert.ok(stored.every((a) => !('transcript' in a) && !('input' in a) && !('text' in a)))
  assert.ok(stored.some((a) => a['gen_ai.request.model'] === 'gpt-4o-mini'))
  assert.equal(traces.assembler.heldCount, 0)
})

test('spans sent by the official OTel JSON exporter in LiveKit\'s shape become turns and hops through their node spans', async () => {
  const { tracer, provider } = tracerWith(new JsonExporter({ url: `${proxy.url}/v1/traces` }), 'livekit-agent')
  const session = tracer.startSpan('agent_session', { startTime: at(0), attributes: { 'lk.room_sid': 'RM_abc', 'lk.agent_name': 'support' } })
  const inSession = trace.setSpan(context.active(), session)
  const user = tracer.startSpan('user_turn', { startTime: at(500), attributes: { 'lk.transcription_delay': 0.3, 'lk.end_of_turn_delay': 0.5, 'lk.pii.user_transcript': 'my card was charged twice' } }, inSession)
  user.end(at(2000))
  const turn = tracer.startSpan('agent_turn', { startTime: at(2100), attributes: { 'lk.generation_id': 'gen_1' } }, inSession)
  const inTurn = trace.setSpan(context.active(), turn)
  const llmNode = tracer.startSpan('llm_node', { startTime: at(2100) }, inTurn)
  child(tracer, llmNode, 'llm_request', 2110, 2900, { 'gen_ai.request.model': 'gpt-4.1-mini', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 300, 'gen_ai.usage.output_tokens': 42, 'lk.llm_metrics': JSON.stringify({ ttft: 0.35, duration: 0.79 }), authorization: 'Bearer sk-should-never-be-stored' })
  llmNode.setAttribute('lk.response.ttft', 0.36)
  llmNode.end(at(2900))
  const ttsNode = tracer.startSpan('tts_node', { startTime: at(2500) }, inTurn)
  child(tracer, ttsNode, 'tts_request', 2500, 3400, { 'gen_ai.request.model': 'sonic-2', 'lk.tts_metrics': JSON.stringify({ ttfbMs: 180 }) })
  ttsNode.end(at(3400))
  turn.setAttributes({ 'lk.e2e_latency': 1.1, 'lk.interrupted': false })
  turn.end(at(3500))
  session.end(at(4000))
  await provider.forceFlush()
  await provider.shutdown()

  assert.equal(rows.spans.length, 7)
  // a LiveKit session is one trace: its turns are numbered in it
  const conversation = session.spanContext().traceId
  // its STT (from the user's turn before it), LLM and TTS hops are counted in it
  assert.deepEqual(rows.turns.map((t) => [t.conversation_id, t.turn, t.first_audio_us - t.user_end_us, t.scenario, t.hop_count]), [[conversation, 1, 1_100_000, 'agent:livekit', 3]])
  const byComponent = new Map(rows.hops.map((h) => [h.component, h]))
  assert.deepEqual([...byComponent.keys()].sort(), ['llm', 'stt', 'tts'])
  const llmHop = byComponent.get('llm')!
  assert.deepEqual([llmHop.turn, llmHop.conversation_id, llmHop.model, llmHop.tokens_in, llmHop.first_payload_us - llmHop.start_us], [1, conversation, 'gpt-4.1-mini', 300, 350_000])
  assert.equal(byComponent.get('tts')!.first_payload_us - byComponent.get('tts')!.start_us, 180_000)
  // the user's turn carries recognition as a delay: its STT hop belongs to the agent turn that answers it
  assert.deepEqual([byComponent.get('stt')!.turn, byComponent.get('stt')!.conversation_id, byComponent.get('stt')!.final_us - byComponent.get('stt')!.request_end_us], [1, conversation, 300_000])
  assert.equal(traces.assembler.heldCount, 0)
  const text = JSON.stringify(rows.spans)
  assert.ok(!text.includes('sk-should-never-be-stored'), 'a credential reached the store')
  assert.ok(!text.includes('charged twice'), 'content reached the store though keep_content is off')
})

test('a LiveKit agent turn in text mode (no lk.e2e_latency) is a success without a response time, not a failure', async () => {
  const { tracer, provider } = tracerWith(new JsonExporter({ url: `${proxy.url}/v1/traces` }), 'livekit-agent')
  const session = tracer.startSpan('agent_session', { startTime: at(0), attributes: { 'lk.room_sid': 'RM_text' } })
  const turn = tracer.startSpan('agent_turn', { startTime: at(100), attributes: { 'lk.generation_id': 'gen_t' } }, trace.setSpan(context.active(), session))
  turn.end(at(900))
  session.end(at(1000))
  await provider.forceFlush()
  await provider.shutdown()
  const stored = rows.turns.find((t) => t.conversation_id === session.spanContext().traceId)
  assert.ok(stored !== undefined)
  assert.deepEqual([stored.success, stored.first_audio_us, stored.error_kind, stored.interrupted], [1, 0, '', 0])
})

test('an agent\'s LLM span over a call the proxy timed itself is joined with the proxy\'s hop, not counted twice', async () => {
  const { tracer, provider } = tracerWith(new ProtoExporter({ url: `${proxy.url}/v1/traces` }), 'pipecat-bot')
  const turn = tracer.startSpan('turn', { attributes: { 'turn.number': 1, 'conversation.id': 'conv-join' } })
  const span = tracer.startSpan('llm', { attributes: { 'gen_ai.request.model': 'gpt-4o-mini', 'metrics.ttfb': 0.02 } }, trace.setSpan(context.active(), turn))
  const ctx = span.spanContext()
  const answer = await fetch(`${proxy.url}/llm/v1/chat/completions`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', traceparent: `00-${ctx.traceId}-${ctx.spanId}-01` } })
  await answer.arrayBuffer()
  await new Promise((r) => setTimeout(r, 20))
  span.end()
  turn.end()
  await provider.forceFlush()
  await provider.shutdown()

  const llmSpan = rows.spans.find((s) => s.name === 'llm')!
  assert.match(llmSpan.joined_hop_id, /.+/, 'the proxy hop of the same call was not found')
  assert.equal(rows.hops.filter((h) => h.component === 'llm').length, 0, 'the call was written twice')
  assert.equal(traces.assembler.stats.joined >= 1, true)
})

/** A LiveKit turn whose llm_request span times the calls `during` makes, with the given server port; sent and flushed. */
async function livekitLlmSpan(serverPort: number, during: () => Promise<void>): Promise<void> {
  const { tracer, provider } = tracerWith(new JsonExporter({ url: `${proxy.url}/v1/traces` }), 'livekit-agent')
  const session = tracer.startSpan('agent_session', { attributes: { 'lk.room_sid': `RM_${serverPort}` } })
  const turn = tracer.startSpan('agent_turn', { attributes: { 'lk.generation_id': 'gen_x' } }, trace.setSpan(context.active(), session))
  const node = tracer.startSpan('llm_node', {}, trace.setSpan(context.active(), turn))
  const request = tracer.startSpan('llm_request', { attributes: { 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.provider.name': 'openai', 'server.address': '127.0.0.1', 'server.port': serverPort, 'lk.response.ttft': 0.01 } }, trace.setSpan(context.active(), node))
  await during()
  await new Promise((r) => setTimeout(r, 5))
  request.end()
  node.end()
  turn.setAttributes({ 'lk.e2e_latency': 0.5 })
  turn.end()
  session.end()
  await provider.forceFlush()
  await provider.shutdown()
}

const callLlm = async () => {
  // no traceparent: LiveKit JS's default
  const res = await fetch(`${proxy.url}/llm/v1/chat/completions`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
  await res.arrayBuffer()
}

test('without a traceparent, an agent\'s LLM span that called this proxy joins the one proxy hop inside it; the call is not counted twice', async () => {
  const proxyHops = new HopCollector()
  try {
    await livekitLlmSpan(Number(new URL(proxy.url).port), callLlm)
    const [hop] = await proxyHops.waitFor(1)
    const span = rows.spans.find((s) => s.name === 'llm_request')!
    assert.equal(span.joined_hop_id, hop!.hop_id)
    assert.equal(rows.hops.filter((h) => h.component === 'llm').length, 0, 'the call was written twice')
    // the joined proxy hop is the turn's: the agent's turn row counts it
    assert.deepEqual(rows.turns.map((t) => t.hop_count), [1])
  } finally {
    proxyHops.dispose()
  }
})

test('without a traceparent, two calls inside one span are no join (which one is the span\'s cannot be told), nor is a span whose call went elsewhere', async () => {
  const before = traces.stats().ambiguous_joins
  await livekitLlmSpan(Number(new URL(proxy.url).port), async () => {
    await Promise.all([callLlm(), callLlm()])
  })
  assert.equal(rows.spans.find((s) => s.name === 'llm_request')?.joined_hop_id, '')
  assert.equal(rows.hops.filter((h) => h.component === 'llm').length, 1, 'the agent\'s own hop is kept')
  assert.equal(traces.stats().ambiguous_joins, before + 1)
  rows.spans.length = 0
  rows.hops.length = 0
  await livekitLlmSpan(Number(new URL(llm.url).port), callLlm)
  assert.equal(rows.spans.find((s) => s.name === 'llm_request')?.joined_hop_id, '', 'a call to another port did not pass through the proxy')
})

test('a sender that goes away in the middle of a gzip body leaves the proxy serving', async () => {
  const url = new URL(proxy.url)
  for (const encoding of ['gzip', 'identity']) {
    const socket = connect(Number(url.port), url.hostname)
    await new Promise((r) => socket.once('connect', r))
    socket.write(`POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-protobuf\r\ncontent-encoding: ${encoding}\r\ncontent-length: 5000\r\n\r\n`)
    socket.write(gzipSync(Buffer.alloc(4000)).subarray(0, 20))
    await new Promise((r) => setTimeout(r, 50))
    socket.destroy()
  }
  await new Promise((r) => setTimeout(r, 100))
  const ok = await fetch(`${proxy.url}/v1/traces`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
  assert.equal(ok.status, 200)
  await ok.arrayBuffer()
})

test('malformed OTLP bodies get a 400 with a reason, huge ones a 413, and the receiver keeps serving', async () => {
  const post = (body: Uint8Array | string, type: string, extra: Record<string, string> = {}) => fetch(`${proxy.url}/v1/traces`, { method: 'POST', body, headers: { 'content-type': type, ...extra } })
  const before = rows.spans.length

  const badProto = await post(Uint8Array.from([0x0a, 0x50, 0x01]), 'application/x-protobuf')
  assert.equal(badProto.status, 400)
  assert.equal(badProto.headers.get('content-type'), 'application/x-protobuf')
  assert.match(Buffer.from(await badProto.arrayBuffer()).toString('latin1'), /runs past the end/)

  const badJson = await post('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz", "spanId": "0102030405060708"}]}]}]}', 'application/json')
  assert.equal(badJson.status, 400)
  const reason = (await badJson.json()) as { code: number; message: string }
  assert.equal(reason.code, 3)
  assert.match(reason.message, /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId must be a hex string/)

  const notJson = await post('{"resourceSpans": [', 'application/json')
  assert.equal(notJson.status, 400)
  assert.match(((await notJson.json()) as { message: string }).message, /not JSON/)

  const wrongType = await post('hello', 'text/plain')
  assert.equal(wrongType.status, 415)
  await wrongType.arrayBuffer()

  const huge = await post(new Uint8Array(200 * 1024), 'application/x-protobuf')
  assert.equal(huge.status, 413)
  await huge.arrayBuffer()

  // a gzip bomb is cut at the limit too: 10 MiB of zeros in a few KiB
  const bomb = await post(gzipSync(Buffer.alloc(10 * 1024 * 1024)), 'application/x-protobuf', { 'content-encoding': 'gzip' })
  assert.equal(bomb.status, 413)
  await bomb.arrayBuffer().catch(() => undefined)

  const good = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agent' } }] }, scopeSpans: [{ scope: { name: 'x' }, spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'plain', kind: 1, startTimeUnixNano: '1800000000000000000', endTimeUnixNano: '1800000000100000000' }] }] }] })
  const ok = await post(gzipSync(good), 'application/json', { 'content-encoding': 'gzip' })
  assert.equal(ok.status, 200)
  assert.deepEqual(await ok.json(), {})
  assert.equal(rows.spans.length, before + 1)
  assert.deepEqual([rows.spans.at(-1)!.service, rows.spans.at(-1)!.end_us - rows.spans.at(-1)!.start_us], ['agent', 100_000])
  // and the proxy still forwards
  const forwarded = await fetch(`${proxy.url}/llm/v1/models`)
  assert.equal(forwarded.status, 200)
  await forwarded.arrayBuffer()
  assert.ok(traces.receiver.stats.malformed >= 3 && traces.receiver.stats.too_large >= 2)
  // and /metrics counts what was turned away
  const metrics = new ProxyMetrics(() => [], undefined, { receiver: () => traces.stats() })
  const text = (await metrics.render()).text
  metrics.dispose()
  assert.match(text, new RegExp(`hopwatch_otlp_rejected_total\\{reason="malformed"\\} ${traces.receiver.stats.malformed}\\b`))
  assert.match(text, new RegExp(`hopwatch_otlp_rejected_total\\{reason="too_large"\\} ${traces.receiver.stats.too_large}\\b`))
  assert.match(text, /hopwatch_otlp_received_spans_total [1-9]/)
})
