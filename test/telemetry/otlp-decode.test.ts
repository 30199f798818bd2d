import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SpanStatusCode } from '@opentelemetry/api'
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { decodeJson, decodeProtobuf, OtlpDecodeError } from '../../src/telemetry/otlp/index.js'

/** Spans made by the official SDK, with every attribute type it has. */
function officialSpans() {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'agent', 'deployment.replica': 3 }), spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = provider.getTracer('scope-x')
  const parent = tracer.startSpan('parent', { startTime: [1_800_000_000, 5_000] })
  parent.end([1_800_000_001, 0])
  const span = tracer.startSpan('llm', {
    startTime: [1_800_000_000, 250_000_000],
    attributes: { s: 'é"\\', i: 9_007_199_254_740_993, neg: -42, d: 0.25, b: true, arr: ['a', 'b'], nums: [1, 2.5] },
  })
  span.addEvent('first_token', { n: 1 }, [1_800_000_000, 650_000_000])
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream 503' })
  span.end([1_800_000_001, 0])
  return exporter.getFinishedSpans()
}

test('protobuf and JSON from the official OTLP serializers decode to the same spans, every attribute type included', () => {
  const spans = officialSpans()
  const fromProto = decodeProtobuf(ProtobufTraceSerializer.serializeRequest(spans)!)
  const fromJson = decodeJson(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!))
  assert.deepEqual(fromProto, fromJson)
  const llm = fromProto.find((s) => s.name === 'llm')!
  assert.equal(llm.traceId, spans[1]!.spanContext().traceId)
  assert.equal(llm.spanId, spans[1]!.spanContext().spanId)
  assert.deepEqual([llm.startUs, llm.endUs], [1_800_000_000_250_000, 1_800_000_001_000_000])
  assert.equal(llm.attributes.s, 'é"\\')
  assert.equal(llm.attributes.neg, -42)
  assert.equal(llm.attributes.d, 0.25)
  assert.equal(llm.attributes.b, true)
  assert.deepEqual(llm.attributes.arr, ['a', 'b'])
  assert.deepEqual(llm.events, [{ atUs: 1_800_000_000_650_000, name: 'first_token', attributes: { n: 1 } }])
  assert.deepEqual([llm.statusCode, llm.statusMessage, llm.scope, llm.resource['service.name'], llm.resource['deployment.replica']], [2, 'upstream 503', 'scope-x', 'agent', 3])
})

test('malformed protobuf is refused with the reason: truncated, a wrong wire type, a runaway varint, bad UTF-8, a short id', () => {
  const good = ProtobufTraceSerializer.serializeRequest(officialSpans())!
  const reasons: Array<[Uint8Array, RegExp]> = [
    [good.subarray(0, good.length - 7), /runs past the end/],
    [Uint8Array.from([0x0b]), /wire type 3/],
    [Uint8Array.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), /varint longer than 10 bytes/],
    // ResourceSpans > ScopeSpans > Span { name: 0xff }
    [Uint8Array.from([0x0a, 0x07, 0x12, 0x05, 0x12, 0x03, 0x2a, 0x01, 0xff]), /Span.name is not valid UTF-8/],
    // a span whose trace_id has 3 bytes
    [Uint8Array.from([0x0a, 0x09, 0x12, 0x07, 0x12, 0x05, 0x0a, 0x03, 0x01, 0x02, 0x03]), /trace_id must be 16 bytes, got 3/],
  ]
  for (const [body, reason] of reasons) {
    assert.throws(() => decodeProtobuf(body), (err: unknown) => err instanceof OtlpDecodeError && reason.test(err.message), String(reason))
  }
  assert.deepEqual(decodeProtobuf(new Uint8Array(0)), [], 'an empty request is valid and holds no spans')
})
