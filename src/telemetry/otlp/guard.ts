import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/**
 * Who may write spans into the store through `POST /v1/traces`: a caller with the bearer token when one is set (OTel
 * exporters send it with OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer …"), never a web page (a browser marks its
 * requests with Origin and Sec-Fetch-Site; exporters do not), and each source within its own rate: requests and
 * bytes per second in token buckets, so one noisy or hostile sender cannot crowd out the others or the proxy.
 */
export interface GuardOptions {
  /** the bearer token senders must present; undefined: none asked (the receiver then listens on loopback only) */
  token: string | undefined
  /** requests per second per source, and the burst allowed above it */
  requestsPerS: number
  /** body bytes per second per source (the burst is one maximal body) */
  bytesPerS: number
  maxBodyBytes: number
}

export type GuardVerdict = { ok: true } | { ok: false; status: 401 | 403 | 429; reason: string; retryAfterS?: number }

interface Bucket {
  requests: number
  bytes: number
  at: number
}

/** Sources remembered at most; past it the longest-idle one is forgotten (a full bucket is the default anyway). */
const MAX_SOURCES = 10_000

export class ReceiverGuard {
  private readonly buckets = new Map<string, Bucket>()
  readonly stats = { unauthorized: 0, cross_site: 0, rate_limited: 0 }

  constructor(private readonly options: GuardOptions, private readonly now: () => number = () => performance.now()) {}

  /** Checks a request before its body is read. */
  admit(req: IncomingMessage): GuardVerdict {
    const site = req.headers['sec-fetch-site']
    if (req.headers.origin !== undefined || (site !== undefined && site !== 'none' && site !== 'same-origin')) {
      this.stats.cross_site++
      return { ok: false, status: 403, reason: 'the receiver does not take spans from web pages (Origin or Sec-Fetch-Site present)' }
    }
    if (this.options.token !== undefined) {
      const auth = req.headers.authorization ?? ''
      const given = Buffer.from(auth.startsWith('Bearer ') ? auth.slice(7).trim() : '')
      const token = Buffer.from(this.options.token)
      if (given.length !== token.length || !timingSafeEqual(given, token)) {
        this.stats.unauthorized++
        return { ok: false, status: 401, reason: 'send the receiver token as Authorization: Bearer <token> (OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer <token>")' }
      }
    }
    const bucket = this.refill(req.socket.remoteAddress ?? 'unknown')
    const declared = Number(req.headers['content-length'] ?? 0)
    if (bucket.requests < 1 || (Number.isFinite(declared) && declared > bucket.bytes)) {
      this.stats.rate_limited++
      const wait = bucket.requests < 1 ? (1 - bucket.requests) / this.options.requestsPerS : (declared - bucket.bytes) / this.options.bytesPerS
      return { ok: false, status: 429, reason: `this source sends more than ${this.options.requestsPerS} requests or ${this.options.bytesPerS} bytes a second (telemetry.receiver.max_requests_per_s, max_bytes_per_s)`, retryAfterS: Math.max(1, Math.ceil(wait)) }
    }
    bucket.requests -= 1
    return { ok: true }
  }

  /** Charges a body's bytes as they arrive; false once the source is over its byte rate. */
  charge(req: IncomingMessage, bytes: number): boolean {
    const bucket = this.refill(req.socket.remoteAddress ?? 'unknown')
    bucket.bytes -= bytes
    return bucket.bytes >= -this.options.maxBodyBytes
  }

  private refill(source: string): Bucket {
    const now = this.now()
    const burstRequests = Math.max(1, this.options.requestsPerS * 2)
    const burstBytes = Math.max(this.options.maxBodyBytes, this.options.bytesPerS)
    let b = this.buckets.get(source)
    if (b === undefined) {
      if (this.buckets.size >= MAX_SOURCES) this.buckets.delete(this.buckets.keys().next().value as string)
      b = { requests: burstRequests, bytes: burstBytes, at: now }
    } else {
      const dt = (now - b.at) / 1000
      b.requests = Math.min(burstRequests, b.requests + dt * this.options.requestsPerS)
      b.bytes = Math.min(burstBytes, b.bytes + dt * this.options.bytesPerS)
      b.at = now
      this.buckets.delete(source)
    }
    // most recently used last: the first key is the longest idle
    this.buckets.set(source, b)
    return b
  }
}
