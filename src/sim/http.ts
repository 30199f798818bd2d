import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'

/** A provider's error body for a status: each simulated provider answers errors the way the real API does. */
export type ErrorShaper = (status: number, message: string, code?: string) => unknown

/** Reads a request body up to `limit` bytes; 'too_large' (and the rest left unread) past it. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) return 'too_large'
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length
    if (total > limit) return 'too_large'
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

/** An HTTP error on a socket that was asking to upgrade: the handshake is refused with a body, as providers do. */
export function refuseUpgrade(socket: Duplex, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  const lines = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`, 'content-type: application/json', `content-length: ${Buffer.byteLength(text)}`, 'connection: close']
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  socket.end(`${lines.join('\r\n')}\r\n\r\n${text}`)
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 413: 'Payload Too Large', 422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' }

/** Resets the TCP connection (RST, not FIN): what a crashed or overloaded server's caller sees. */
export function resetConnection(socket: Duplex | null | undefined): void {
  const tcp = socket as (Duplex & { resetAndDestroy?: () => void }) | null | undefined
  if (tcp === null || tcp === undefined || tcp.destroyed) return
  if (typeof tcp.resetAndDestroy === 'function') tcp.resetAndDestroy()
  else tcp.destroy()
}

/** Resolves after `ms`, or early when `signal` aborts (then `false`). */
export function wait(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(false)
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(true)
    }, Math.max(0, ms))
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** A signal that aborts when the caller goes away before the answer is complete. */
export function callerGone(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const controller = new AbortController()
  res.on('close', () => {
    if (!res.writableFinished) controller.abort()
  })
  req.on('error', () => controller.abort())
  return controller.signal
}

/** Writes a chunk and waits for the socket to drain when it is full (backpressure, never unbounded buffering). */
export async function writeChunk(res: ServerResponse, chunk: Buffer | string, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted || res.destroyed) return false
  if (res.write(chunk)) return true
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain)
      signal.removeEventListener('abort', onAbort)
      resolve(ok)
    }
    const onDrain = () => done(true)
    const onAbort = () => done(false)
    res.on('drain', onDrain)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
