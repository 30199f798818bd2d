import type { IncomingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'

/** Who a hop belongs to: from x-hopwatch-* headers, else W3C baggage, else the connection it came on. */
export interface Correlation {
  runId: string
  conversationId: string
  /** the caller's turn number, when it said */
  turn: number | undefined
  traceId: string
  parentSpanId: string
}

/** Identifiers are bounded so that a caller cannot blow up a row. */
const MAX_ID_CHARS = 128

interface ConnectionState {
  conversationId: string
  turns: number
}

const connections = new WeakMap<Socket, ConnectionState>()
let connectionSeq = 0
const connectionPrefix = `c${process.pid.toString(36)}${Date.now().toString(36)}`

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return typeof value === 'string' ? value.slice(0, MAX_ID_CHARS) : undefined
}

/** Reads hopwatch.run / hopwatch.conversation / hopwatch.turn from a W3C baggage header. */
function fromBaggage(baggage: string | undefined): Record<string, string> {
  const found: Record<string, string> = {}
  if (baggage === undefined || !baggage.includes('hopwatch.')) return found
  for (const member of baggage.split(',')) {
    const eq = member.indexOf('=')
    if (eq === -1) continue
    const key = member.slice(0, eq).trim()
    if (!key.startsWith('hopwatch.')) continue
    const value = member.slice(eq + 1).split(';')[0]?.trim() ?? ''
    try {
      found[key] = decodeURIComponent(value).slice(0, MAX_ID_CHARS)
    } catch {
      found[key] = value.slice(0, MAX_ID_CHARS)
    }
  }
  return found
}

function parseTurn(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : undefined
}

/**
 * Correlates a request; `defaultRunId` is used when the caller names no run. The conversation comes from the
 * headers, else baggage, else a `/_hw/<id>` path segment (`pathConversation`), else the connection.
 */
export function correlate(headers: IncomingHttpHeaders, socket: Socket, defaultRunId: string, pathConversation?: string): Correlation {
  // W3C caps baggage at 8192 bytes; a longer header is not read (the hop is still timed, by connection)
  const rawBaggage = headers.baggage
  const baggage = fromBaggage(typeof rawBaggage === 'string' && rawBaggage.length <= 8192 ? rawBaggage : undefined)
  let traceId = ''
  let parentSpanId = ''
  const traceparent = headers.traceparent
  // version-traceid-parentid-flags: 00-<32 hex>-<16 hex>-<2 hex>
  if (typeof traceparent === 'string' && traceparent.length >= 55 && traceparent[2] === '-' && traceparent[35] === '-') {
    traceId = traceparent.slice(3, 35)
    parentSpanId = traceparent.slice(36, 52)
  }
  const conversation = header(headers, 'x-hopwatch-conversation') ?? baggage['hopwatch.conversation'] ?? pathConversation
  return {
    runId: header(headers, 'x-hopwatch-run') ?? baggage['hopwatch.run'] ?? defaultRunId,
    conversationId: conversation ?? connectionOf(socket).conversationId,
    turn: parseTurn(header(headers, 'x-hopwatch-turn') ?? baggage['hopwatch.turn']),
    traceId,
    parentSpanId,
  }
}

function connectionOf(socket: Socket): ConnectionState {
  let state = connections.get(socket)
  if (state === undefined) {
    state = { conversationId: `${connectionPrefix}-${(connectionSeq++).toString(36)}`, turns: 0 }
    connections.set(socket, state)
  }
  return state
}

/** The turn of an untagged request: its order on its connection (1, 2, …). */
export function nextTurnOnConnection(socket: Socket): number {
  return ++connectionOf(socket).turns
}
