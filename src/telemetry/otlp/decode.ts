import { asBytes, asDouble, asInt, asInt64, asString, readMessage, WireError, type WireValue } from './wire.js'

/** An attribute value as OTLP's AnyValue carries it; bytes become base64, 64-bit integers numbers (or strings past 2^53). */
export type AttrValue = string | number | boolean | AttrValue[] | { [key: string]: AttrValue } | null
export type Attributes = Record<string, AttrValue>

/** One received span, its resource and scope flattened onto it. Times are microseconds since the epoch. */
export interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId: string
  name: string
  kind: number
  startUs: number
  endUs: number
  attributes: Attributes
  events: Array<{ atUs: number; name: string; attributes: Attributes }>
  statusCode: number
  statusMessage: string
  resource: Attributes
  scope: string
}

/** A body the receiver cannot read: the reason goes back to the sender with a 400. */
export class OtlpDecodeError extends Error {}

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
const usFromNs = (ns: bigint) => Number(ns / 1000n)
const safeInt = (v: bigint): number | string => (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString())

function checkId(id: string, length: number, what: string, optional: boolean): string {
  if (id === '' && optional) return id
  if (id.length !== length) throw new OtlpDecodeError(`${what} must be ${length / 2} bytes, got ${id.length / 2}`)
  return id
}

// ---- protobuf ----

function anyValue(bytes: Uint8Array, depth: number): AttrValue {
  if (depth > 16) throw new OtlpDecodeError('attribute values nest deeper than 16 levels')
  let out: AttrValue = null
  readMessage(bytes, (field, v) => {
    switch (field) {
      case 1: out = asString(v, 'AnyValue.string_value'); break
      case 2: out = asInt(v, 'AnyValue.bool_value') !== 0n; break
      case 3: out = safeInt(asInt64(v, 'AnyValue.int_value')); break
      case 4: out = asDouble(v, 'AnyValue.double_value'); break
      case 5: {
        const values: AttrValue[] = []
        readMessage(asBytes(v, 'AnyValue.array_value'), (f, item) => {
          if (f === 1) values.push(anyValue(asBytes(item, 'ArrayValue.values'), depth + 1))
        })
        out = values
        break
      }
      case 6: out = keyValues(asBytes(v, 'AnyValue.kvlist_value'), 1, depth + 1); break
      case 7: out = Buffer.from(asBytes(v, 'AnyValue.bytes_value')).toString('base64'); break
    }
  })
  return out
}

/** One KeyValue message. */
function keyValue(bytes: Uint8Array, depth: number): [string, AttrValue] {
  let key = ''
  let value: AttrValue = null
  readMessage(bytes, (f, v) => {
    if (f === 1) key = asString(v, 'KeyValue.key')
    else if (f === 2) value = anyValue(asBytes(v, 'KeyValue.value'), depth)
  })
  return [key, value]
}

/** The KeyValue messages repeated at `field` of a message (Resource, KeyValueList). */
function keyValues(bytes: Uint8Array, field: number, depth: number): Attributes {
  const attrs: Attributes = {}
  readMessage(bytes, (f, v) => {
    if (f !== field) return
    const [key, value] = keyValue(asBytes(v, 'KeyValue'), depth)
    attrs[key] = value
  })
  return attrs
}

function protoSpan(bytes: Uint8Array, resource: Attributes, scope: string): OtlpSpan {
  const span: OtlpSpan = { traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, startUs: 0, endUs: 0, attributes: {}, events: [], statusCode: 0, statusMessage: '', resource, scope }
  readMessage(bytes, (field, v: WireValue) => {
    switch (field) {
      case 1: span.traceId = hex(asBytes(v, 'Span.trace_id')); break
      case 2: span.spanId = hex(asBytes(v, 'Span.span_id')); break
      case 4: span.parentSpanId = hex(asBytes(v, 'Span.parent_span_id')); break
      case 5: span.name = asString(v, 'Span.name'); break
      case 6: span.kind = Number(asInt(v, 'Span.kind')); break
      case 7: span.startUs = usFromNs(asInt(v, 'Span.start_time_unix_nano')); break
      case 8: span.endUs = usFromNs(asInt(v, 'Span.end_time_unix_nano')); break
      case 9: {
        const [key, value] = keyValue(asBytes(v, 'Span.attributes'), 0)
        span.attributes[key] = value
        break
      }
      case 11: {
        const event = { atUs: 0, name: '', attributes: {} as Attributes }
        readMessage(asBytes(v, 'Span.events'), (ef, ev) => {
          if (ef === 1) event.atUs = usFromNs(asInt(ev, 'Event.time_unix_nano'))
          else if (ef === 2) event.name = asString(ev, 'Event.name')
          else if (ef === 3) {
            const [key, value] = keyValue(asBytes(ev, 'Event.attributes'), 0)
            event.attributes[key] = value
          }
        })
        span.events.push(event)
        break
      }
      case 15:
        readMessage(asBytes(v, 'Span.status'), (sf, sv) => {
          if (sf === 2) span.statusMessage = asString(sv, 'Status.message')
          else if (sf === 3) span.statusCode = Number(asInt(sv, 'Status.code'))
        })
        break
    }
  })
  checkId(span.traceId, 32, 'trace_id', false)
  checkId(span.spanId, 16, 'span_id', false)
  checkId(span.parentSpanId, 16, 'parent_span_id', true)
  return span
}

/** Decodes an ExportTraceServiceRequest in protobuf. */
export function decodeProtobuf(body: Uint8Array): OtlpSpan[] {
  const spans: OtlpSpan[] = []
  try {
    readMessage(body, (field, rs) => {
      if (field !== 1) return
      let resource: Attributes = {}
      const scopes: Uint8Array[] = []
      readMessage(asBytes(rs, 'ResourceSpans'), (f, v) => {
        if (f === 1) resource = keyValues(asBytes(v, 'Resource'), 1, 0)
        else if (f === 2) scopes.push(asBytes(v, 'ScopeSpans'))
      })
      for (const ss of scopes) {
        let scope = ''
        const raw: Uint8Array[] = []
        readMessage(ss, (f, v) => {
          if (f === 1) readMessage(asBytes(v, 'InstrumentationScope'), (sf, sv) => (sf === 1 ? (scope = asString(sv, 'InstrumentationScope.name')) : undefined))
          else if (f === 2) raw.push(asBytes(v, 'Span'))
        })
        for (const s of raw) spans.push(protoSpan(s, resource, scope))
      }
    })
  } catch (err) {
    if (err instanceof WireError) throw new OtlpDecodeError(`not an OTLP ExportTraceServiceRequest in protobuf: ${err.message}`)
    throw err
  }
  return spans
}

// ---- JSON (OTLP/JSON: ids in hex, 64-bit integers as strings or numbers, enums as integers) ----

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

function jsonArray(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw new OtlpDecodeError(`${what} must be an array`)
  return v
}

function jsonObject(v: unknown, what: string): Json {
  if (!isObject(v)) throw new OtlpDecodeError(`${what} must be an object`)
  return v
}

function jsonNanosToUs(v: unknown, what: string): number {
  if (v === undefined) return 0
  if (typeof v === 'number' && Number.isFinite(v)) return Math.floor(v / 1000)
  if (typeof v === 'string' && /^\d+$/.test(v)) return usFromNs(BigInt(v))
  throw new OtlpDecodeError(`${what} must be an integer number of nanoseconds`)
}

function jsonId(v: unknown, length: number, what: string, optional: boolean): string {
  if ((v === undefined || v === '') && optional) return ''
  if (typeof v !== 'string' || !/^[0-9a-fA-F]*$/.test(v)) throw new OtlpDecodeError(`${what} must be a hex string`)
  return checkId(v.toLowerCase(), length, what, optional)
}

function jsonAnyValue(v: unknown, what: string, depth: number): AttrValue {
  if (depth > 16) throw new OtlpDecodeError('attribute values nest deeper than 16 levels')
  if (v === undefined || v === null) return null
  const o = jsonObject(v, what)
  if ('stringValue' in o) return String(o.stringValue)
  if ('boolValue' in o) return o.boolValue === true
  if ('intValue' in o) {
    const i = o.intValue
    if (typeof i === 'number' && Number.isInteger(i)) return safeInt(BigInt(i))
    if (typeof i === 'string' && /^-?\d+$/.test(i)) return safeInt(BigInt(i))
    throw new OtlpDecodeError(`${what}.intValue must be an integer`)
  }
  if ('doubleValue' in o) {
    const d = Number(o.doubleValue)
    if (Number.isNaN(d) && o.doubleValue !== 'NaN') throw new OtlpDecodeError(`${what}.doubleValue must be a number`)
    return d
  }
  if ('arrayValue' in o) return jsonArray(jsonObject(o.arrayValue, `${what}.arrayValue`).values, `${what}.arrayValue.values`).map((x, i) => jsonAnyValue(x, `${what}.arrayValue.values[${i}]`, depth + 1))
  if ('kvlistValue' in o) return jsonAttributes(jsonObject(o.kvlistValue, `${what}.kvlistValue`).values, `${what}.kvlistValue.values`, depth + 1)
  if ('bytesValue' in o) return String(o.bytesValue)
  return null
}

function jsonAttributes(v: unknown, what: string, depth = 0): Attributes {
  const attrs: Attributes = {}
  jsonArray(v, what).forEach((kv, i) => {
    const o = jsonObject(kv, `${what}[${i}]`)
    if (typeof o.key !== 'string') throw new OtlpDecodeError(`${what}[${i}].key must be a string`)
    attrs[o.key] = jsonAnyValue(o.value, `${what}[${i}].value`, depth)
  })
  return attrs
}

/** Decodes an ExportTraceServiceRequest in OTLP/JSON. */
export function decodeJson(text: string): OtlpSpan[] {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new OtlpDecodeError(`not JSON: ${(err as Error).message}`)
  }
  const root = jsonObject(doc, 'the body')
  const spans: OtlpSpan[] = []
  jsonArray(root.resourceSpans, 'resourceSpans').forEach((rsv, r) => {
    const rs = jsonObject(rsv, `resourceSpans[${r}]`)
    const resource = rs.resource === undefined ? {} : jsonAttributes(jsonObject(rs.resource, `resourceSpans[${r}].resource`).attributes, `resourceSpans[${r}].resource.attributes`)
    jsonArray(rs.scopeSpans, `resourceSpans[${r}].scopeSpans`).forEach((ssv, s) => {
      const at = `resourceSpans[${r}].scopeSpans[${s}]`
      const ss = jsonObject(ssv, at)
      const scope = isObject(ss.scope) && typeof ss.scope.name === 'string' ? ss.scope.name : ''
      jsonArray(ss.spans, `${at}.spans`).forEach((spv, i) => {
        const where = `${at}.spans[${i}]`
        const sp = jsonObject(spv, where)
        const status = isObject(sp.status) ? sp.status : {}
        spans.push({
          traceId: jsonId(sp.traceId, 32, `${where}.traceId`, false),
          spanId: jsonId(sp.spanId, 16, `${where}.spanId`, false),
          parentSpanId: jsonId(sp.parentSpanId, 16, `${where}.parentSpanId`, true),
          name: typeof sp.name === 'string' ? sp.name : '',
          kind: typeof sp.kind === 'number' ? sp.kind : 0,
          startUs: jsonNanosToUs(sp.startTimeUnixNano, `${where}.startTimeUnixNano`),
          endUs: jsonNanosToUs(sp.endTimeUnixNano, `${where}.endTimeUnixNano`),
          attributes: jsonAttributes(sp.attributes, `${where}.attributes`),
          events: jsonArray(sp.events, `${where}.events`).map((ev, e) => {
            const o = jsonObject(ev, `${where}.events[${e}]`)
            return { atUs: jsonNanosToUs(o.timeUnixNano, `${where}.events[${e}].timeUnixNano`), name: typeof o.name === 'string' ? o.name : '', attributes: jsonAttributes(o.attributes, `${where}.events[${e}].attributes`) }
          }),
          statusCode: typeof status.code === 'number' ? status.code : 0,
          statusMessage: typeof status.message === 'string' ? status.message : '',
          resource,
          scope,
        })
      })
    })
  })
  return spans
}
