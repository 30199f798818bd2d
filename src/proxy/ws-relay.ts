import { upstreamUrl } from './request-target.js'
import type { IncomingMessage } from 'node:http'
import { WebSocket, type RawData } from 'ws'
import type { ErrorKind } from '../types.js'
import type { RequestInfo, WsExchanges, WsObserver } from './adapters/types.js'
import type { Correlation } from './correlation.js'
import { headerObject, requestHeadersToForward } from './headers.js'
import { Hop } from './hop.js'
import type { Upstream } from './upstream.js'

export interface RelayLimits {
  maxFrameBytes: number
  /** bytes queued towards one side before the other side is paused */
  highWaterBytes: number
}

/** Close codes that may be sent in a close frame (RFC 6455 §7.4); others are replaced. */
function sendableCode(code: number, fallback: number): number {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999) ? code : fallback
}

function reasonText(reason: Buffer | string): string {
  const text = typeof reason === 'string' ? reason : reason.toString('utf8')
  return Buffer.byteLength(text) <= 123 ? text : text.slice(0, 60) // a close reason is at most 123 bytes
}

function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
}

/**
 * The exchanges of one connection: at most one hop open at a time, turns numbered from the caller's turn (or 1) in
 * order. Without an adapter observer, the whole connection is one exchange.
 */
class Exchanges implements WsExchanges {
  current: Hop | undefined
  private count = 0

  constructor(
    private readonly upstream: Upstream,
    private readonly correlation: Correlation,
    private readonly route: string,
  ) {}

  get open(): boolean {
    return this.current !== undefined
  }

  begin(): void {
    if (this.current !== undefined) return
    const turn = (this.correlation.turn ?? 1) + this.count++
    this.current = new Hop(this.upstream, this.correlation, turn, 'ws', 'GET', this.route)
    this.current.responseStart(101)
  }

  requestEnd(): void {
    this.current?.requestEnd()
  }

  firstPayload(): void {
    this.current?.firstPayload()
  }

  final(): void {
    this.current?.final()
  }

  usage(tokensIn: number, tokensOut: number): void {
    this.current?.usage(tokensIn, tokensOut)
  }

  audio(ms: number): void {
    this.current?.audio(ms)
  }

  model(name: string): void {
    this.current?.model(name)
  }

  end(kind: ErrorKind = ''): void {
    this.current?.finish(kind)
    this.current = undefined
  }

  /** The connection is going: an exchange still waiting for its answer ends as `unanswered` (who left first). */
  closeConnection(kind: ErrorKind, unanswered: ErrorKind): void {
    const open = this.current
    this.end(kind === '' && open !== undefined && open.record.first_payload_us === 0 ? unanswered : kind)
  }
}

/** Without an adapter: one exchange per connection, the first upstream message is the payload. */
function wholeConnection(ex: Exchanges): WsObserver {
  return {
    onClientMessage() {
      ex.begin()
      ex.requestEnd()
    },
    onUpstreamMessage() {
      ex.begin()
      ex.firstPayload()
      ex.final()
    },
  }
}

/**
 * Relays one accepted caller WebSocket to its upstream, message for message with the binary/text flag kept.
 * Messages sent before the upstream opens are held (bounded); a side whose peer has too much queued is paused.
 * Closes travel both ways with their codes; a peer that misbehaves is closed without disturbing other connections.
 */
export function relayWebSocket(client: WebSocket, req: IncomingMessage, upstream: Upstream, request: RequestInfo, correlation: Correlation, limits: RelayLimits): void {
  const exchanges = new Exchanges(upstream, correlation, request.path)
  let observer: WsObserver
  try {
    observer = upstream.adapter.ws?.(request, exchanges) ?? wholeConnection(exchanges)
  } catch {
    observer = wholeConnection(exchanges)
  }

  const protocols = typeof req.headers['sec-websocket-protocol'] === 'string' ? req.headers['sec-websocket-protocol'].split(',').map((p) => p.trim()) : []
  // parsed against the upstream's origin (never concatenated into a host): a target that would leave it was refused
  // before the upgrade, and upstreamUrl refuses it again here
  let target: string
  try {
    target = upstreamUrl(upstream.wsOrigin, upstream.basePath, `${request.path}${request.query === '' ? '' : `?${request.query}`}`).href
  } catch {
    client.close(1008, 'bad request target')
    return
  }
  const headers = headerObject(requestHeadersToForward(req.rawHeaders, undefined, upstream.name, true))
  const peer = new WebSocket(target, protocols, {
    headers,
    maxPayload: limits.maxFrameBytes,
    perMessageDeflate: false,
    handshakeTimeout: upstream.timeouts.connect_ms,
    followRedirects: false,
  })

  let held: Array<[Buffer, boolean]> = []
  let heldBytes = 0
  let closed = false

  const note = (fn: () => void) => {
    try {
      fn()
    } catch {
      // an adapter's bug never breaks relaying
    }
  }

  /** The upstream side ended (or misbehaved, or the caller sent a bad frame): close both sides once. */
  const shutdown = (kind: ErrorKind, clientCode: number, reason: string) => {
    if (closed) return
    closed = true
    exchanges.closeConnection(kind, 'reset')
    if (client.readyState === WebSocket.OPEN) client.close(clientCode, reason)
    else if (client.readyState === WebSocket.CONNECTING) client.terminate()
    if (peer.readyState === WebSocket.OPEN) peer.close(1000)
    else if (peer.readyState === WebSocket.CONNECTING) peer.terminate()
  }

  /** Sends towards `to`; pauses `from` while `to` has more than the high-water mark queued. */
  const send = (to: WebSocket, from: WebSocket, data: Buffer, isBinary: boolean) => {
    to.send(data, { binary: isBinary }, () => {
      if (from.isPaused && to.bufferedAmount < limits.highWaterBytes / 2) from.resume()
    })
    if (to.bufferedAmount > limits.highWaterBytes && !from.isPaused) from.pause()
  }

  client.on('message', (raw, isBinary) => {
    const data = asBuffer(raw)
    note(() => observer.onClientMessage(data, isBinary))
    exchanges.current?.requestBytes(data.length)
    if (peer.readyState === WebSocket.OPEN) {
      send(peer, client, data, isBinary)
    } else if (peer.readyState === WebSocket.CONNECTING) {
      heldBytes += data.length
      if (heldBytes > limits.highWaterBytes) shutdown('too_large', 1013, 'hopwatch: upstream not open yet and too much sent')
      else held.push([data, isBinary])
    }
  })

  peer.on('open', () => {
    for (const [data, isBinary] of held) send(peer, client, data, isBinary)
    held = []
    heldBytes = 0
  })

  peer.on('message', (raw, isBinary) => {
    const data = asBuffer(raw)
    exchanges.current?.responseBytes(data.length)
    note(() => observer.onUpstreamMessage(data, isBinary))
    if (client.readyState === WebSocket.OPEN) send(client, peer, data, isBinary)
  })

  peer.on('unexpected-response', (request, response) => {
    exchanges.begin()
    exchanges.current?.responseStart(response.statusCode ?? 502)
    request.destroy()
    shutdown(response.statusCode === 429 ? 'rate_limited' : 'upstream_status', 1014, `hopwatch: upstream answered ${response.statusCode ?? '?'}`)
  })

  peer.on('error', (err: Error & { code?: string }) => {
    if (closed) return
    const connecting = peer.readyState !== WebSocket.OPEN && peer.readyState !== WebSocket.CLOSING
    if (connecting) exchanges.begin()
    const kind: ErrorKind = err.message.includes('Opening handshake has timed out') ? 'timeout' : connecting ? 'connect' : err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too_large' : 'reset'
    shutdown(kind, 1014, `hopwatch: upstream ${kind === 'connect' ? 'unreachable' : 'failed'}`)
  })

  peer.on('close', (code, reason) => {
    if (closed) return
    shutdown(code === 1006 ? 'reset' : code === 1009 ? 'too_large' : '', sendableCode(code, code === 1006 ? 1014 : 1000), reasonText(reason))
  })

  client.on('error', (err: Error & { code?: string }) => {
    // a malformed or oversized frame from the caller: ws closes the socket itself (1002/1009)
    if (closed) return
    shutdown(err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too_large' : 'protocol', 1002, 'hopwatch: bad frame')
  })

  client.on('close', (code, reason) => {
    if (closed) return
    closed = true
    exchanges.closeConnection('', 'client_abort')
    if (peer.readyState === WebSocket.OPEN) peer.close(sendableCode(code, 1000), reasonText(reason))
    else peer.terminate()
  })
}
