import { upstreamUrl } from './request-target.js'
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http'
import { WebSocket, type RawData } from 'ws'
import type { Component, ErrorKind } from '../types.js'
import type { RequestInfo, WsExchange, WsExchanges, WsObserver } from './adapters/types.js'
import type { Correlation } from './correlation.js'
import { upstreamDns } from './dns-cache.js'
import { proxyErrorBody, type ProxyErrorCode } from './errors.js'
import { headerObject, requestHeadersToForward, responseHeadersToForward } from './headers.js'
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

/** Contexts open at once on one connection (a multi-context TTS): more are not timed. */
const MAX_OPEN_CONTEXTS = 64

/** One exchange slot: a hop while open, numbered by the connection that owns it. */
class Slot implements WsExchange {
  current: Hop | undefined

  constructor(
    private readonly opener: (slot: Slot) => Hop | undefined,
    private readonly closed: (slot: Slot) => void = () => {},
  ) {}

  get open(): boolean {
    return this.current !== undefined
  }

  begin(): void {
    if (this.current === undefined) this.current = this.opener(this)
  }

  startAt(atUs: number): void {
    this.current?.startAt(atUs)
  }

  requestEnd(atUs?: number): void {
    this.current?.requestEnd(atUs)
  }

  discard(): void {
    this.current?.discard()
    this.current = undefined
    this.closed(this)
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
    this.closed(this)
  }

  /** The connection is going: an exchange still waiting for its answer ends as `unanswered` (who left first). */
  closeConnection(kind: ErrorKind, unanswered: ErrorKind): void {
    const open = this.current
    this.end(kind === '' && open !== undefined && open.record.first_payload_us === 0 ? unanswered : kind)
  }
}

/**
 * The exchanges of one connection, turns numbered from the caller's turn (or 1) in the order they begin: one at a
 * time by default, or one per context where a protocol runs several at once (`context(key)`). Without an adapter
 * observer, the whole connection is one exchange.
 */
export class Exchanges extends Slot implements WsExchanges {
  private count = 0
  private readonly contexts = new Map<string, Slot>()

  private readonly component: Component

  constructor(
    private readonly upstream: Upstream,
    private readonly correlation: Correlation,
    private readonly request: RequestInfo,
  ) {
    super(() => this.hop())
    this.component = upstream.componentOf(request)
  }

  private hop(): Hop {
    const turn = (this.correlation.turn ?? 1) + this.count++
    const hop = new Hop(this.upstream, this.component, this.correlation, turn, 'ws', 'GET', this.request.path)
    hop.responseStart(101)
    return hop
  }

  /** An open context's slot, or a new one that joins the open ones when it begins (so unknown keys cost nothing). */
  context(key: string): WsExchange {
    return (
      this.contexts.get(key) ??
      new Slot(
        (slot) => {
          if (this.contexts.size >= MAX_OPEN_CONTEXTS) return undefined
          this.contexts.set(key, slot)
          return this.hop()
        },
        (slot) => {
          if (this.contexts.get(key) === slot) this.contexts.delete(key)
        },
      )
    )
  }

  override closeConnection(kind: ErrorKind, unanswered: ErrorKind): void {
    super.closeConnection(kind, unanswered)
    for (const slot of [...this.contexts.values()]) slot.closeConnection(kind, unanswered)
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

/** A refusal's body is passed on up to this size (a provider's error JSON is far smaller). */
const MAX_REFUSAL_BYTES = 64 * 1024

/** The upstream answered the handshake: its open socket, with what it sent before the caller's handshake completed. */
export interface DialledUpstream {
  readonly open: true
  peer: WebSocket
  exchanges: Exchanges
  observer: WsObserver
  /** messages and a close that arrived before the relay began */
  early: Array<[Buffer, boolean]>
  earlyClose: { code: number; reason: Buffer } | undefined
  stopHolding(): void
}

/** The upstream refused the handshake (its status, headers and body) or could not be reached (a proxy error). */
export interface RefusedUpgrade {
  readonly open: false
  status: number
  headers: OutgoingHttpHeaders
  body: Buffer
}

/** Reads a refusal's body, bounded in size and time. */
function readRefusal(response: IncomingMessage, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = () => {
      clearTimeout(timer)
      response.destroy()
      resolve(Buffer.concat(chunks))
    }
    const timer = setTimeout(done, timeoutMs)
    response.on('data', (chunk: Buffer) => {
      if (size < MAX_REFUSAL_BYTES) chunks.push(chunk.subarray(0, MAX_REFUSAL_BYTES - size))
      size += chunk.length
      if (size >= MAX_REFUSAL_BYTES) done()
    })
    response.on('end', done)
    response.on('error', done)
  })
}

/**
 * Opens the upstream WebSocket before the caller's handshake is answered, so the caller gets what the upstream said:
 * an open socket, or the upstream's own refusal (status, headers, body: a 401 stays a 401 with the provider's error,
 * and a client that retries sees why), or a proxy error when the upstream cannot be reached. A refusal is a hop.
 */
export function dialUpstream(req: IncomingMessage, upstream: Upstream, request: RequestInfo, correlation: Correlation, limits: RelayLimits): Promise<DialledUpstream | RefusedUpgrade> {
  const exchanges = new Exchanges(upstream, correlation, request)
  let observer: WsObserver
  try {
    observer = upstream.adapter.ws?.(request, exchanges) ?? wholeConnection(exchanges)
  } catch {
    observer = wholeConnection(exchanges)
  }
  const refused = (status: number, kind: ErrorKind, headers: OutgoingHttpHeaders, body: Buffer): RefusedUpgrade => {
    exchanges.begin()
    exchanges.current?.responseStart(status)
    exchanges.current?.responseBytes(body.length)
    exchanges.end(kind)
    return { open: false, status, headers, body }
  }
  const proxyRefusal = (status: number, kind: ErrorKind, code: ProxyErrorCode, message: string) =>
    refused(status, kind, { 'content-type': 'application/json', 'x-hopwatch-error': code }, Buffer.from(JSON.stringify(proxyErrorBody(code, message))))

  const protocols = typeof req.headers['sec-websocket-protocol'] === 'string' ? req.headers['sec-websocket-protocol'].split(',').map((p) => p.trim()) : []
  // parsed against the upstream's origin (never concatenated into a host): a target that would leave it was refused
  // before the upgrade, and upstreamUrl refuses it again here
  let target: string
  try {
    target = upstreamUrl(upstream.wsOrigin, upstream.basePath, `${request.path}${request.query === '' ? '' : `?${request.query}`}`).href
  } catch {
    return Promise.resolve(proxyRefusal(400, 'protocol', 'HW_PROXY_BAD_TARGET', 'the request target leaves the upstream'))
  }
  const headers = headerObject(requestHeadersToForward(req.rawHeaders, undefined, upstream.name, true))
  const peer = new WebSocket(target, protocols, {
    headers,
    maxPayload: limits.maxFrameBytes,
    perMessageDeflate: false,
    handshakeTimeout: upstream.timeouts.connect_ms,
    followRedirects: false,
    // one upstream connection per call: its name comes from the cache, not from a lookup each time
    lookup: upstreamDns.lookup,
  })
  return new Promise((resolve) => {
    peer.once('open', () => {
      const dialled: DialledUpstream = {
        open: true,
        peer,
        exchanges,
        observer,
        early: [],
        earlyClose: undefined,
        stopHolding() {
          peer.off('message', hold)
          peer.off('close', heldClose)
          peer.off('error', ignore)
        },
      }
      let heldBytes = 0
      const hold = (raw: RawData, isBinary: boolean) => {
        const data = asBuffer(raw)
        heldBytes += data.length
        // an upstream that floods before the caller is even connected is cut rather than buffered
        if (heldBytes > limits.highWaterBytes) peer.terminate()
        else dialled.early.push([data, isBinary])
      }
      const heldClose = (code: number, reason: Buffer) => (dialled.earlyClose = { code, reason })
      const ignore = () => {}
      peer.on('message', hold)
      peer.on('close', heldClose)
      peer.on('error', ignore)
      resolve(dialled)
    })
    peer.once('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 502
      const forwarded = responseHeadersToForward(response.headers)
      delete forwarded['content-length']
      void readRefusal(response, upstream.timeouts.connect_ms).then((body) => resolve(refused(status, status === 429 ? 'rate_limited' : 'upstream_status', forwarded, body)))
    })
    peer.once('error', (err: Error & { code?: string }) => {
      if (err.message.includes('Opening handshake has timed out')) resolve(proxyRefusal(504, 'timeout', 'HW_PROXY_UPSTREAM_TIMEOUT', `upstream ${upstream.name} did not answer the WebSocket handshake in ${upstream.timeouts.connect_ms} ms`))
      else resolve(proxyRefusal(502, 'connect', 'HW_PROXY_UPSTREAM_UNREACHABLE', `upstream ${upstream.name} is unreachable: ${err.message}`))
    })
  })
}

/**
 * Relays one accepted caller WebSocket to its already open upstream, message for message with the binary/text flag
 * kept; what the upstream said before the caller's handshake completed goes first. A side whose peer has too much
 * queued is paused. Closes travel both ways with their codes; a peer that misbehaves is closed without disturbing
 * other connections.
 */
export function relayWebSocket(client: WebSocket, dialled: DialledUpstream, limits: RelayLimits): void {
  const { peer, exchanges, observer } = dialled
  dialled.stopHolding()
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
    note(() => observer.onClose?.(kind === ''))
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

  const fromUpstream = (data: Buffer, isBinary: boolean) => {
    exchanges.current?.responseBytes(data.length)
    note(() => observer.onUpstreamMessage(data, isBinary))
    if (client.readyState === WebSocket.OPEN) send(client, peer, data, isBinary)
  }
  const peerClosed = (code: number, reason: Buffer) => {
    if (closed) return
    shutdown(code === 1006 ? 'reset' : code === 1009 ? 'too_large' : '', sendableCode(code, code === 1006 ? 1014 : 1000), reasonText(reason))
  }

  client.on('message', (raw, isBinary) => {
    const data = asBuffer(raw)
    note(() => observer.onClientMessage(data, isBinary))
    exchanges.current?.requestBytes(data.length)
    if (peer.readyState === WebSocket.OPEN) send(peer, client, data, isBinary)
  })

  peer.on('message', (raw, isBinary) => fromUpstream(asBuffer(raw), isBinary))

  peer.on('error', (err: Error & { code?: string }) => {
    if (closed) return
    shutdown(err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too_large' : 'reset', 1014, 'hopwatch: upstream failed')
  })

  peer.on('close', peerClosed)

  client.on('error', (err: Error & { code?: string }) => {
    // a malformed or oversized frame from the caller: ws closes the socket itself (1002/1009)
    if (closed) return
    shutdown(err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too_large' : 'protocol', 1002, 'hopwatch: bad frame')
  })

  client.on('close', (code, reason) => {
    if (closed) return
    closed = true
    note(() => observer.onClose?.(true))
    exchanges.closeConnection('', 'client_abort')
    if (peer.readyState === WebSocket.OPEN) peer.close(sendableCode(code, 1000), reasonText(reason))
    else peer.terminate()
  })

  // what the upstream said while the caller's handshake completed, then how it left if it already has
  for (const [data, isBinary] of dialled.early) fromUpstream(data, isBinary)
  dialled.early = []
  if (dialled.earlyClose !== undefined) peerClosed(dialled.earlyClose.code, dialled.earlyClose.reason)
  else if (peer.readyState !== WebSocket.OPEN) shutdown('reset', 1014, 'hopwatch: upstream failed')
}
