import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { metrics } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { hopEnded, turnEnded } from '../../src/events.js'
import { OtlpReceiver, type OtlpSpan } from '../../src/telemetry/otlp/index.js'
import { ProxyMetrics } from '../../src/telemetry/metrics.js'
import { exportTarget, Tracing, tracesUrl, TurnTraces } from '../../src/telemetry/tracing/index.js'
import type { HopRecord, TurnRecord } from '../../src/types.js'
import { hopwatch } from '../support/cli.js'

const T0 = 1_800_000_000_000_000

function hop(over: Partial<HopRecord>): HopRecord {
  return {
    run_id: 'r1', conversation_id: 'c1', turn: 1, hop_id: 'h', component: 'llm', upstream: 'llm', instance: '127.0.0.1:1', proxy: 'p', adapter: 'openai', transport: 'http', method: 'POST', route: '/v1/chat/completions', model: 'gpt-4o-mini',
    start_us: T0, request_end_us: T0 + 1_000, response_start_us: T0 + 100_000, first_byte_us: T0 + 110_000, first_payload_us: T0 + 150_000, final_us: T0 + 400_000, end_us: T0 + 401_000,
    status: 200, error_kind: '', bytes_in: 10, bytes_out: 100, tokens_in: 50, tokens_out: 12, audio_ms: 0, in_flight: 3, trace_id: '', parent_span_id: '', auxiliary: 0, ...over,
  }
}

function turn(over: Partial<TurnRecord>): TurnRecord {
  return {
    run_id: 'r1', conversation_id: 'c1', turn: 1, scenario: 'booking', step: 2, architecture: 'cascaded', user_start_us: T0 - 2_000_000, user_end_us: T0 - 300_000, first_audio_us: T0 + 600_000, end_us: T0 + 2_000_000,
    success: 1, interrupted: 0, hung_up: 0, wer: 0.05, error_kind: '', hop_count: 2, late_us: 0, persona: '', transcript: '', ...over,
  }
}

test('a turn becomes one trace: a turn span from the end of the user\'s audio to the end of the answer, a child per hop with its moments', () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const traces = new TurnTraces(provider.getTracer('hopwatch'), { graceMs: 60_000, idleMs: 60_000, maxTurns: 100, maxHops: 10 })
  hopEnded.publish(hop({ hop_id: 'h-stt', component: 'stt', adapter: 'deepgram', model: 'nova-3', start_us: T0 - 2_000_000, request_end_us: T0 - 300_000, final_us: T0 - 100_000, first_payload_us: T0 - 1_500_000, end_us: T0 - 90_000, tokens_in: 0, tokens_out: 0 }))
  hopEnded.publish(hop({ hop_id: 'h-llm' }))
  hopEnded.publish(hop({ hop_id: 'h-tts', component: 'tts', adapter: 'http', model: '', upstream: 'voice', start_us: T0 + 402_000, first_payload_us: T0 + 600_000, end_us: T0 + 1_900_000, error_kind: 'reset', tokens_in: 0, tokens_out: 0 }))
  turnEnded.publish(turn({}))
  traces.close()

  const spans = exporter.getFinishedSpans()
  const root = spans.find((s) => s.name === 'hopwatch.turn')!
  assert.ok(root !== undefined)
  assert.equal(spans.length, 4)
  assert.deepEqual([root.startTime, root.endTime], [[1_799_999_999, 700_000_000], [1_800_000_002, 0]])
  assert.deepEqual(
    Object.fromEntries(['hopwatch.run', 'hopwatch.conversation', 'hopwatch.turn', 'hopwatch.step', 'hopwatch.response_ms', 'hopwatch.success', 'hopwatch.hop_count'].map((k) => [k, root.attributes[k]])),
    { 'hopwatch.run': 'r1', 'hopwatch.conversation': 'c1', 'hopwatch.turn': 1, 'hopwatch.step': 2, 'hopwatch.response_ms': 900, 'hopwatch.success': true, 'hopwatch.hop_count': 3 },
  )
  assert.deepEqual(root.events.map((e) => e.name), ['user_audio_start', 'first_audio'])
  const children = spans.filter((s) => s !== root)
  for (const c of children) {
    assert.equal(c.parentSpanContext?.spanId, root.spanContext().spanId)
    assert.equal(c.spanContext().traceId, root.spanContext().traceId)
  }
  const llm = children.find((s) => s.attributes['hopwatch.component'] === 'llm')!
  assert.equal(llm.name, 'chat gpt-4o-mini')
  assert.deepEqual(
    Object.fromEntries(['gen_ai.operation.name', 'gen_ai.provider.name', 'gen_ai.system', 'gen_ai.request.model', 'gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens', 'hopwatch.ttft_ms', 'hopwatch.ttfb_ms', 'hopwatch.step', 'http.response.status_code'].map((k) => [k, llm.attributes[k]])),
    { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 50, 'gen_ai.usage.output_tokens': 12, 'hopwatch.ttft_ms': 150, 'hopwatch.ttfb_ms': 110, 'hopwatch.step': 2, 'http.response.status_code': 200 },
  )
  assert.deepEqual(llm.events.map((e) => e.name), ['request_end', 'response_start', 'first_byte', 'first_token', 'final'])
  const stt = children.find((s) => s.attributes['hopwatch.component'] === 'stt')!
  assert.equal(stt.attributes['hopwatch.latency_ms'], 200)
  assert.ok(stt.events.some((e) => e.name === 'final_transcript'))
  const tts = children.find((s) => s.attributes['hopwatch.component'] === 'tts')!
  assert.deepEqual([tts.status.code, tts.attributes['error.type'], tts.attributes['gen_ai.system']], [2, 'reset', undefined])
})

test('hops past a turn\'s limit are not traced, and counted', () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const traces = new TurnTraces(provider.getTracer('hopwatch'), { graceMs: 60_000, idleMs: 60_000, maxTurns: 100, maxHops: 10 })
  for (let i = 0; i < 12; i++) hopEnded.publish(hop({ hop_id: `h${i}`, conversation_id: 'many' }))
  traces.close()
  assert.equal(exporter.getFinishedSpans().filter((s) => s.name !== 'hopwatch.turn').length, 10)
  assert.equal(traces.untraced, 2)
})

test('a caller\'s traceparent puts the turn span in the caller\'s trace, under the caller\'s span', () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  let clock = 0
  const traces = new TurnTraces(provider.getTracer('hopwatch'), { graceMs: 1000, idleMs: 5000, maxTurns: 100, maxHops: 10 }, () => clock)
  hopEnded.publish(hop({ conversation_id: 'agent-conv', trace_id: '0af7651916cd43dd8448eb211c80319c', parent_span_id: 'b7ad6b7169203331' }))
  clock = 4000
  traces.sweep()
  assert.equal(exporter.getFinishedSpans().length, 0, 'sent before the turn went idle')
  clock = 5001
  traces.sweep()
  const root = exporter.getFinishedSpans().find((s) => s.name === 'hopwatch.turn')!
  assert.equal(root.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c')
  assert.equal(root.parentSpanContext?.spanId, 'b7ad6b7169203331')
  // without a caller's turn record the span covers the hops
  assert.deepEqual([root.startTime, root.endTime], [[1_800_000_000, 0], [1_800_000_000, 401_000_000]])
  traces.close()
})

test('the export target: the config\'s endpoint gets /v1/traces, the standard variables are honoured, OTEL_SDK_DISABLED wins', () => {
  const c = { max_queue: 10, max_batch: 10, timeout_ms: 1000 }
  assert.equal(tracesUrl('http://collector:4318'), 'http://collector:4318/v1/traces')
  assert.equal(tracesUrl('http://collector:4318/v1/traces'), 'http://collector:4318/v1/traces')
  assert.deepEqual(exportTarget({ ...c, endpoint: 'http://c:4318/' }, {}), { url: 'http://c:4318/v1/traces' })
  assert.equal(exportTarget(c, {}), undefined)
  assert.deepEqual(exportTarget(c, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), {})
  assert.equal(exportTarget({ ...c, endpoint: 'http://c:4318' }, { OTEL_SDK_DISABLED: 'true' }), undefined)
  assert.equal(exportTarget({ ...c, endpoint: 'http://c:4318' }, { OTEL_TRACES_EXPORTER: 'none' }), undefined)
})

test('collector down: turns are traced, every span that could not be sent is counted, and /metrics says so', async () => {
  const dead = createServer()
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r))
  const port = (dead.address() as AddressInfo).port
  await new Promise((r) => dead.close(r))
  const tracing = Tracing.start({ endpoint: `http://127.0.0.1:${port}`, max_queue: 8, max_batch: 4, timeout_ms: 1000 }, { version: 'test', turnOptions: { graceMs: 10, idleMs: 10, maxTurns: 100, maxHops: 10 } })!
  const metrics = new ProxyMetrics(() => [], undefined, { tracing: () => tracing.counts() })
  for (let t = 1; t <= 10; t++) {
    hopEnded.publish(hop({ turn: t }))
    turnEnded.publish(turn({ turn: t }))
  }
  const counts = await tracing.stop()
  // 20 spans: every one is exported, failed or dropped (the queue holds 8), none unaccounted
  assert.equal(counts.exported, 0)
  assert.equal(counts.failed + counts.dropped + counts.queued, 20, JSON.stringify(counts))
  assert.ok(counts.dropped > 0 && counts.failed > 0, JSON.stringify(counts))
  const text = (await metrics.render()).text
  assert.match(text, new RegExp(`hopwatch_otel_spans_total\\{outcome="failed"\\} ${counts.failed}\\b`))
  assert.match(text, new RegExp(`hopwatch_otel_spans_total\\{outcome="dropped"\\} ${counts.dropped}\\b`))
  metrics.dispose()
})

test('only traces leave: the standard variables point the exporter at a collector, no metric reader starts, and nothing but /v1/traces is called', async () => {
  const paths: string[] = []
  const spans: OtlpSpan[] = []
  const receiver = new OtlpReceiver({ maxBodyBytes: 1 << 20, accept: (s) => spans.push(...s) })
  const server = createServer((req, res) => {
    paths.push(req.url ?? '')
    receiver.handle(req, res)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const saved = { ...process.env }
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  process.env.OTEL_SERVICE_NAME = 'hopwatch-under-test'
  try {
    const tracing = Tracing.start({ max_queue: 100, max_batch: 10, timeout_ms: 2000 }, { version: 'test', turnOptions: { graceMs: 10, idleMs: 10, maxTurns: 10, maxHops: 10 } })!
    assert.equal(tracing.url, `${process.env.OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`)
    // no metric reader was started from the SDK's defaults: the global meter provider is still the API's no-op one
    assert.equal(metrics.getMeterProvider().constructor.name, 'NoopMeterProvider')
    hopEnded.publish(hop({ run_id: 'env-run' }))
    turnEnded.publish(turn({ run_id: 'env-run' }))
    const counts = await tracing.stop()
    assert.deepEqual([counts.exported, counts.failed, counts.dropped], [2, 0, 0])
  } finally {
    process.env = saved
    await new Promise((r) => server.close(r))
  }
  assert.deepEqual([...new Set(paths)], ['/v1/traces'])
  assert.deepEqual(spans.map((s) => s.resource['service.name']), ['hopwatch-under-test', 'hopwatch-under-test'])
})

/** A collector stand-in: hopwatch's own OTLP receiver on its own port. */
async function collector(): Promise<{ url: string; spans: OtlpSpan[]; close: () => Promise<void> }> {
  const spans: OtlpSpan[] = []
  const receiver = new OtlpReceiver({ maxBodyBytes: 16 * 1024 * 1024, accept: (s) => spans.push(...s) })
  const server: Server = createServer((req, res) => receiver.handle(req, res))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, close: () => new Promise((r) => server.close(() => r())) }
}

async function storeCount(config: string, sql: string): Promise<number> {
  const r = await hopwatch(['sql', '--config', config, sql])
  assert.equal(r.code, 0, r.stderr)
  return (JSON.parse(r.stdout) as { n: number }).n
}

test('spans exported during a short run arrive over OTLP/HTTP: one turn span per turn, a child per hop, attributes right', async () => {
  const otel = await collector()
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-otel-'))
  const config = join(dir, 'hopwatch.yaml')
  await writeFile(config, `proxy: { port: 0 }\nstore: { dir: ${join(dir, 'store')} }\nalerts: { sinks: { log: false } }\ntelemetry: { otlp: { endpoint: ${otel.url} } }\n`)
  try {
    const r = await hopwatch(['run', '--sim', '--config', config, '--profile', 'soak', '--level', '3', '--duration-s', '120', '--time-scale', '10', '--run-id', 'otel-run'])
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stdout, /turn traces: \d+ spans exported\n/)
    const turns = await storeCount(config, "SELECT count() AS n FROM hopwatch.turns WHERE run_id = 'otel-run'")
    const hops = await storeCount(config, "SELECT count() AS n FROM hopwatch.hops WHERE run_id = 'otel-run'")
    const roots = otel.spans.filter((s) => s.name === 'hopwatch.turn')
    const children = otel.spans.filter((s) => s.name !== 'hopwatch.turn')
    assert.ok(turns > 10, `${turns} turns`)
    // every caller's turn has exactly one turn span; hops of a turn cut short by the run's end make their own
    const keys = roots.map((s) => `${s.attributes['hopwatch.conversation']}/${s.attributes['hopwatch.turn']}`)
    assert.equal(new Set(keys).size, keys.length, 'a turn was traced twice')
    assert.ok(roots.filter((s) => 'hopwatch.success' in s.attributes).length === turns, `${roots.length} turn spans with a caller's record, ${turns} turns`)
    assert.equal(children.length, hops)
    const ids = new Set(roots.map((s) => s.spanId))
    assert.ok(children.every((c) => ids.has(c.parentSpanId)), 'a hop span outside its turn')
    assert.ok(roots.every((s) => s.attributes['hopwatch.run'] === 'otel-run' && s.resource['service.name'] === 'hopwatch'))
    const llm = children.filter((c) => c.attributes['hopwatch.component'] === 'llm')
    assert.ok(llm.length > 0 && llm.every((c) => c.attributes['gen_ai.operation.name'] === 'chat' && typeof c.attributes['gen_ai.request.model'] === 'string' && typeof c.attributes['hopwatch.ttft_ms'] === 'number' && c.events.some((e) => e.name === 'first_token')))
  } finally {
    await otel.close()
  }
})

test('collector down during a run: the run completes, no hop is lost from the store, and the lost spans are counted', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-otel-down-'))
  const config = join(dir, 'hopwatch.yaml')
  await writeFile(config, `proxy: { port: 0 }\nstore: { dir: ${join(dir, 'store')} }\nalerts: { sinks: { log: false } }\ntelemetry: { otlp: { endpoint: 'http://127.0.0.1:9', timeout_ms: 500 } }\n`)
  const r = await hopwatch(['run', '--sim', '--config', config, '--profile', 'soak', '--level', '3', '--duration-s', '60', '--time-scale', '10', '--run-id', 'otel-down'])
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
  const m = /turn traces: 0 spans exported, (\d+) failed \(collector refused or unreachable\), (\d+) dropped/.exec(r.stdout)
  assert.ok(m !== null, r.stdout)
  assert.ok(Number(m[1]) + Number(m[2]) > 0)
  const hops = await storeCount(config, "SELECT count() AS n FROM hopwatch.hops WHERE run_id = 'otel-down'")
  assert.ok(hops > 0)
  // the store's own accounting (exit code 1 if any row was dropped): every hop the proxy saw was written
  const row = /^ *hops +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)/m.exec(r.stdout)
  assert.ok(row !== null, r.stdout)
  assert.deepEqual([Number(row[2]) + Number(row[3]), Number(row[5])], [Number(row[1]), 0], row[0])
  assert.equal(Number(row[1]), hops)
  // each turn and each hop was one span, and each is accounted for
  const turns = await storeCount(config, "SELECT count() AS n FROM hopwatch.turns WHERE run_id = 'otel-down'")
  assert.equal(Number(m[1]) + Number(m[2]), turns + hops)
  t.diagnostic(`${hops} hops and ${turns} turns stored; spans: ${m[1]} failed, ${m[2]} dropped`)
})
