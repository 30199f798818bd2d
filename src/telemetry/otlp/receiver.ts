import type { IncomingMessage, ServerResponse } from 'node:http'
import { createGunzip } from 'node:zlib'
import { decodeJson, decodeProtobuf, OtlpDecodeError, type OtlpSpan } from './decode.js'
import { WireWriter } from './wire.js'
import { ReceiverGuard, type GuardOptions } from './guard.js'

/** google.rpc.Code values the OTLP/HTTP spec uses in its error bodies. */
const INVALID_ARGUMENT = 3
const RESOURCE_EXHAUSTED = 8
const PERMISSION_DENIED = 7
const UNAUTHENTICATED = 16
const INTERNAL = 13

export interface ReceiverStats {
  requests: number
  spans: number
  /** bodies answered 400 */
  malformed: number
  /** bodies answered 413 */
  too_large: number
  /** bodies answered 503: the bodies of other senders in progress held the receiver's whole bound, or what takes the spans was behind */
  busy: number
  /** bodies decoded but not recorded (500): a fault of hopwatch's, counted, never silent */
  failed: number
}

export interface ReceiverOptions {
  /** bytes a body may have, compressed or not */
  maxBodyBytes: number
  /** bytes all bodies in progress may hold together (at least maxBodyBytes); default four bodies' worth */
  maxPendingBytes?: number
  /** called with every decoded request's spans; throws a ReceiverBusyError when they cannot be taken now */
  accept: (spans: OtlpSpan[]) => void
  /** who may send, and how much (token, no web pages, per-source rates); absent: anyone */
  guard?: ReceiverGuard
}

type Encoding = 'protobuf' | 'json'

/**
 * A receiver and the guard it checks senders with (their body bound is the receiver's), or none when no guard is
 * asked for: what one process's agent traces and a `--workers` worker each serve at /v1/traces.
 */
export function guardedReceiver(options: { maxBodyBytes: number; maxPendingBytes?: number; guard?: Omit<GuardOptions, 'maxBodyBytes'>; clock?: () => number }, accept: (spans: OtlpSpan[]) => void): { receiver: OtlpReceiver; guard: ReceiverGuard | undefined } {
  const guard = options.guard !== undefined ? new ReceiverGuard({ ...options.guard, maxBodyBytes: options.maxBodyBytes }, options.clock) : undefined
  const receiver = new OtlpReceiver({ maxBodyBytes: options.maxBodyBytes, ...(options.maxPendingBytes !== undefined ? { maxPendingBytes: options.maxPendingBytes } : {}), accept, ...(guard !== undefined ? { guard } : {}) })
  return { receiver, guard }
}

/** Thrown by `accept` when the spans cannot be taken now (what takes them is behind): the sender is told to retry. */
export class ReceiverBusyError extends Error {}

/**
 * The OTLP/HTTP trace receiver (`POST /v1/traces`): protobuf (`application/x-protobuf`) and JSON
 * (`application/json`), gzip or not. A success is an ExportTraceServiceResponse in the request's encoding; a
 * malformed body a 400 and a google.rpc.Status saying why; a body over the limit a 413 as soon as the limit is
 * passed (the rest is not read); a body that would take the bytes held for all bodies in progress past their bound a
 * 503 with Retry-After; the receiver goes on serving either way.
 */
export class OtlpReceiver {
  readonly stats: ReceiverStats = { requests: 0, spans: 0, malformed: 0, too_large: 0, busy: 0, failed: 0 }
  private pending = 0
  private readonly maxPending: number

  constructor(private readonly options: ReceiverOptions) {
    this.maxPending = Math.max(options.maxBodyBytes, options.maxPendingBytes ?? 4 * options.maxBodyBytes)
  }

  /** Bytes of bodies in progress held now, over all senders. */
  get pendingBytes(): number {
    return this.pending
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.stats.requests++
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
    const encoding: Encoding | undefined = type === 'application/x-protobuf' || type === 'application/protobuf' ? 'protobuf' : type === 'application/json' ? 'json' : undefined
    if (req.method !== 'POST') return this.fail(req, res, 405, 'json', INVALID_ARGUMENT, `${req.method} is not accepted on /v1/traces: POST an ExportTraceServiceRequest`, false)
    if (encoding === undefined) return this.fail(req, res, 415, 'json', INVALID_ARGUMENT, `content-type ${type || '(none)'} is not accepted: send application/x-protobuf or application/json`, false)
    const admitted = this.options.guard?.admit(req) ?? { ok: true }
    if (!admitted.ok) {
      if (admitted.retryAfterS !== undefined) res.setHeader('retry-after', String(admitted.retryAfterS))
      return this.fail(req, res, admitted.status, encoding, admitted.status === 429 ? RESOURCE_EXHAUSTED : admitted.status === 401 ? UNAUTHENTICATED : PERMISSION_DENIED, admitted.reason, true)
    }
    const declared = Number(req.headers['content-length'] ?? Number.NaN)
    if (declared > this.options.maxBodyBytes) return this.tooLarge(req, res, encoding)
    const gzip = (req.headers['content-encoding'] ?? '').toLowerCase()
    if (gzip !== '' && gzip !== 'gzip' && gzip !== 'identity') return this.fail(req, res, 415, encoding, INVALID_ARGUMENT, `content-encoding ${gzip} is not accepted: send gzip or none`, false)
    const source = gzip === 'gzip' ? req.pipe(createGunzip()) : req
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    // the bytes this request holds of the bound shared by all requests, given back however it ends
    let held = 0
    const release = () => {
      this.pending -= held
      held = 0
    }
    req.once('close', release)
    const finish = (fn: () => void) => {
      if (done) return
      done = true
      try {
        fn()
      } finally {
        release()
      }
    }
    source.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (this.pending + chunk.length > this.maxPending) {
        this.stats.busy++
        res.setHeader('retry-after', '1')
        finish(() => this.fail(req, res, 503, encoding, RESOURCE_EXHAUSTED, `the receiver holds ${this.pending} bytes of other bodies in progress (telemetry.receiver.max_pending_bytes ${this.maxPending}): retry later`, true))
        if (source !== req) source.destroy()
        return
      }
      if (this.options.guard !== undefined && !this.options.guard.charge(req, chunk.length)) {
        finish(() => this.fail(req, res, 429, encoding, RESOURCE_EXHAUSTED, 'this source sends more bytes a second than telemetry.receiver.max_bytes_per_s', true))
        if (source !== req) source.destroy()
        return
      }
      if (size > this.options.maxBodyBytes) {
        finish(() => this.tooLarge(req, res, encoding))
        if (source !== req) source.destroy()
        return
      }
      chunks.push(chunk)
      held += chunk.length
      this.pending += chunk.length
    })
    const unreadable = (err: Error) => finish(() => this.fail(req, res, 400, encoding, INVALID_ARGUMENT, `the body could not be read: ${err.message}`, true))
    source.on('error', unreadable)
    // a sender that goes away mid-body: answered (to nobody) and counted, never an unhandled error
    if (source !== req) req.on('error', unreadable)
    source.on('end', () =>
      finish(() => {
        const body = Buffer.concat(chunks, size)
        let spans: OtlpSpan[]
        try {
          spans = encoding === 'protobuf' ? decodeProtobuf(body) : decodeJson(body.toString('utf8'))
        } catch (err) {
          // a decoder fault is the body's too: the sender hears why, the proxy goes on
          const reason = err instanceof OtlpDecodeError ? err.message : `the body could not be decoded: ${(err as Error).message}`
          return this.fail(req, res, 400, encoding, INVALID_ARGUMENT, reason, false)
        }
        this.stats.spans += spans.length
        try {
          this.options.accept(spans)
        } catch (err) {
          if (err instanceof ReceiverBusyError) {
            // a sender's exporter retries a 503 (OTLP/HTTP's retryable statuses), never a 500
            this.stats.busy++
            res.setHeader('retry-after', '1')
            return this.fail(req, res, 503, encoding, RESOURCE_EXHAUSTED, `${err.message}: retry later`, false)
          }
          this.stats.failed++
          return this.fail(req, res, 500, encoding, INTERNAL, `the spans were received but could not be recorded: ${(err as Error).message}`, false)
        }
        const ok = encoding === 'json' ? Buffer.from('{}') : Buffer.alloc(0)
        res.writeHead(200, { 'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf', 'content-length': ok.length })
        res.end(ok)
      }),
    )
  }

  private tooLarge(req: IncomingMessage, res: ServerResponse, encoding: Encoding): void {
    this.stats.too_large++
    this.fail(req, res, 413, encoding, RESOURCE_EXHAUSTED, `the body is over ${this.options.maxBodyBytes} bytes (telemetry.receiver.max_body_bytes): send smaller batches`, true)
  }

  private fail(req: IncomingMessage, res: ServerResponse, status: number, encoding: Encoding, code: number, message: string, close: boolean): void {
    if (status === 400) this.stats.malformed++
    const body = encoding === 'json' ? Buffer.from(JSON.stringify({ code, message })) : Buffer.from(new WireWriter().varintField(1, code).stringField(2, message).finish())
    // a body left unread is not drained: the connection closes after the answer instead
    if (close) res.setHeader('connection', 'close')
    res.writeHead(status, { 'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf', 'content-length': body.length, 'x-hopwatch-error': 'HW_OTLP_REJECTED' })
    res.end(body)
    if (close) req.on('data', () => {}).on('error', () => {})
    else req.resume()
  }
}
