import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { ErrorKind } from '../types.js'
import type { HttpObserver } from './adapters/types.js'
import { requestHeadersToForward, responseHeadersToForward } from './headers.js'
import type { Hop } from './hop.js'
import { sendProxyError, type ProxyErrorCode } from './errors.js'
import type { Upstream } from './upstream.js'

class BodyTooLargeError extends Error {
  readonly code = 'HW_BODY_TOO_LARGE'
}

class ClientGoneError extends Error {
  readonly code = 'HW_CLIENT_GONE'
}

class BodyIdleError extends Error {
  readonly code = 'HW_BODY_IDLE'
}

/** How an undici or socket error is recorded, and what the caller is told when no response has started. */
function classify(err: Error & { code?: string }): { kind: ErrorKind; status: number; code: ProxyErrorCode } {
  switch (err.code) {
    case 'HW_BODY_TOO_LARGE':
      return { kind: 'too_large', status: 413, code: 'HW_PROXY_BODY_TOO_LARGE' }
    case 'HW_CLIENT_GONE':
      return { kind: 'client_abort', status: 499, code: 'HW_PROXY_UPSTREAM_RESET' }
    case 'HW_BODY_IDLE':
      return { kind: 'client_abort', status: 408, code: 'HW_PROXY_CLIENT_TIMEOUT' }
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return { kind: 'timeout', status: 504, code: 'HW_PROXY_UPSTREAM_TIMEOUT' }
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EAI_AGAIN':
      return { kind: 'connect', status: 502, code: 'HW_PROXY_UPSTREAM_UNREACHABLE' }
    default:
      return { kind: 'reset', status: 502, code: 'HW_PROXY_UPSTREAM_RESET' }
  }
}

/**
 * The request body as it streams past: counted, shown to the adapter, cut off past the limit, and given up when the
 * caller sends nothing for `idleMs` while the proxy waits for it (time the upstream takes to pull does not count).
 */
async function* requestBody(req: IncomingMessage, hop: Hop, observer: HttpObserver | undefined, limits: ForwardLimits): AsyncGenerator<Buffer> {
  let bytes = 0
  const chunks = (req as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  let giveUp: ((err: Error) => void) | undefined
  const timer = setTimeout(() => giveUp?.(new BodyIdleError(`the caller sent no request body for ${limits.bodyIdleMs} ms (proxy.clients.body_idle_ms)`)), limits.bodyIdleMs)
  try {
    for (;;) {
      timer.refresh()
      const next = await new Promise<IteratorResult<Buffer>>((resolve, reject) => {
        giveUp = reject
        chunks.next().then(resolve, reject)
      })
      giveUp = undefined
      if (next.done === true) break
      const chunk = next.value
      bytes += chunk.length
      if (bytes > limits.maxBodyBytes) throw new BodyTooLargeError(`request body exceeds ${limits.maxBodyBytes} bytes`)
      hop.requestBytes(chunk.length)
      observer?.onRequestData?.(chunk)
      yield chunk
    }
  } finally {
    clearTimeout(timer)
  }
  hop.requestEnd()
}

export interface ForwardLimits {
  maxBodyBytes: number
  /** how long a caller may pause in the middle of its request body */
  bodyIdleMs: number
}

/** The forwarding a response belongs to, so its 'close' and 'drain' listeners are shared functions, not closures. */
const FORWARD = Symbol('hopwatch.forward')
type ForwardedResponse = ServerResponse & { [FORWARD]?: HttpForward }

function onCallerClose(this: ForwardedResponse): void {
  this[FORWARD]?.callerClosed()
}

function onCallerDrain(this: ForwardedResponse): void {
  this[FORWARD]?.controller?.resume()
}

/**
 * One request's forwarding, as undici's handler: an object per request with its state in fields, in place of a
 * closure per callback (the handler-class style undici itself uses).
 */
class HttpForward implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | undefined
  private completed = false

  constructor(
    private readonly upstream: Upstream,
    private readonly res: ForwardedResponse,
    private readonly hop: Hop,
    private readonly observer: HttpObserver | undefined,
  ) {}

  callerClosed(): void {
    if (this.completed) return
    this.completed = true
    this.controller?.abort(new ClientGoneError('the caller closed the connection'))
    this.hop.finish('client_abort')
  }

  fail(err: Error & { code?: string }): void {
    if (this.completed) return
    this.completed = true
    const res = this.res
    const { kind, status, code } = classify(err)
    if (!res.headersSent) this.hop.responseStart(status)
    this.hop.finish(kind)
    if (status === 499) return
    // a body left unread ends the connection: what follows on it is not a request
    if (status === 408 || status === 413) res.shouldKeepAlive = false
    if (!res.headersSent) sendProxyError(res, status, code, `${this.upstream.name}: ${err.message}`)
    else res.destroy() // the caller sees a truncated stream, as it would from the upstream itself
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, responseHeaders: IncomingHttpHeaders): void {
    if (status < 200) return // 1xx informational: the final status follows
    this.hop.responseStart(status)
    try {
      this.observer?.onResponseStart?.(status, responseHeaders)
    } catch {
      // an adapter's bug must never break forwarding
    }
    if (this.res.destroyed) return
    this.res.writeHead(status, responseHeadersToForward(responseHeaders))
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.hop.responseBytes(chunk.length)
    const observer = this.observer
    if (observer?.onResponseData !== undefined) {
      try {
        observer.onResponseData(chunk)
      } catch {
        // as above: recording is second, traffic first
      }
    }
    if (!this.res.write(chunk)) {
      c.pause()
      this.res.once('drain', onCallerDrain)
    }
  }

  onResponseEnd(): void {
    if (this.completed) return
    this.completed = true
    try {
      this.observer?.onResponseEnd?.()
    } catch {
      // as above
    }
    this.hop.finish()
    this.res.end()
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.fail(err)
  }
}

/**
 * Forwards one HTTP request to its upstream and streams the response back, byte for byte: no body is buffered,
 * a slow caller pauses the upstream (backpressure), a caller that leaves aborts the upstream request, and every
 * moment goes to the hop.
 */
export function forwardHttp(upstream: Upstream, req: IncomingMessage, res: ServerResponse, upstreamPath: string, hop: Hop, observer: HttpObserver | undefined, limits: ForwardLimits): void {
  const headers = req.headers
  const length = headers['content-length']
  if (length !== undefined && Number(length) > limits.maxBodyBytes) {
    hop.requestEnd()
    hop.responseStart(413)
    hop.finish('too_large')
    res.shouldKeepAlive = false // do not read a body we refused
    sendProxyError(res, 413, 'HW_PROXY_BODY_TOO_LARGE', `request body of ${length} bytes exceeds proxy.max_body_bytes (${limits.maxBodyBytes})`)
    return
  }
  const hasBody = length !== undefined ? length !== '0' : headers['transfer-encoding'] !== undefined
  if (!hasBody) hop.requestEnd()

  const forward = new HttpForward(upstream, res, hop, observer)
  ;(res as ForwardedResponse)[FORWARD] = forward
  // 'close' comes once per response: a plain listener, not once()'s wrapper made for every request
  res.on('close', onCallerClose)
  try {
    upstream.pool.dispatch(
      {
        path: upstream.basePath + upstreamPath,
        method: req.method as Dispatcher.HttpMethod,
        headers: requestHeadersToForward(req.rawHeaders, typeof headers.connection === 'string' ? headers.connection : undefined, upstream.name),
        // undici's core takes async iterables as bodies (its types list only Readable)
        body: hasBody ? (requestBody(req, hop, observer, limits) as unknown as Readable) : null,
        headersTimeout: upstream.timeouts.headers_ms,
        bodyTimeout: upstream.timeouts.idle_ms,
      },
      forward,
    )
  } catch (err) {
    forward.fail(err as Error)
  }
}
