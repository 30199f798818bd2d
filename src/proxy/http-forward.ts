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

  let controller: Dispatcher.DispatchController | undefined
  let completed = false
  res.once('close', () => {
    if (completed) return
    completed = true
    controller?.abort(new ClientGoneError('the caller closed the connection'))
    hop.finish('client_abort')
  })

  const fail = (err: Error & { code?: string }) => {
    if (completed) return
    completed = true
    const { kind, status, code } = classify(err)
    if (!res.headersSent) hop.responseStart(status)
    hop.finish(kind)
    if (status === 499) return
    // a body left unread ends the connection: what follows on it is not a request
    if (status === 408 || status === 413) res.shouldKeepAlive = false
    if (!res.headersSent) sendProxyError(res, status, code, `${upstream.name}: ${err.message}`)
    else res.destroy() // the caller sees a truncated stream, as it would from the upstream itself
  }

  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(c) {
      controller = c
    },
    onResponseStart(_c, status, responseHeaders: IncomingHttpHeaders) {
      if (status < 200) return // 1xx informational: the final status follows
      hop.responseStart(status)
      try {
        observer?.onResponseStart?.(status, responseHeaders)
      } catch {
        // an adapter's bug must never break forwarding
      }
      if (res.destroyed) return
      res.writeHead(status, responseHeadersToForward(responseHeaders))
    },
    onResponseData(c, chunk) {
      hop.responseBytes(chunk.length)
      if (observer?.onResponseData !== undefined) {
        try {
          observer.onResponseData(chunk)
        } catch {
          // as above: recording is second, traffic first
        }
      }
      if (!res.write(chunk)) {
        c.pause()
        res.once('drain', () => c.resume())
      }
    },
    onResponseEnd() {
      if (completed) return
      completed = true
      try {
        observer?.onResponseEnd?.()
      } catch {
        // as above
      }
      hop.finish()
      res.end()
    },
    onResponseError(_c, err) {
      fail(err)
    },
  }

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
      handler,
    )
  } catch (err) {
    fail(err as Error)
  }
}
