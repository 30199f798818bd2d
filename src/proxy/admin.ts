import { randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readOnlyStatement, ReadOnlySqlError } from '../store/read-only-sql.js'
import { ProxyError, sendProxyError } from './errors.js'

/** What the admin endpoints serve; every part is optional so a proxy can run with or without a store. */
export interface AdminHooks {
  /** runs one SQL statement on the store, yielding JSON lines; the signal aborts it when the caller goes away */
  sql?: (statement: string, signal: AbortSignal) => AsyncIterable<string>
  /** Prometheus exposition text and its content type */
  metrics?: () => Promise<{ contentType: string; text: string }>
  /** the recorder's counters and anything else worth a look */
  stats?: () => unknown
  /**
   * takes rows another hopwatch process made (a load generator's turns and steps) into this process's store queue;
   * answers how many were queued, or why the table is refused
   */
  rows?: (table: string, rows: unknown[]) => { accepted: number } | { refused: string }
}

export interface AdminOptions {
  host: string
  port: number
  /** answer callers other than loopback (still with the token) */
  allowRemote: boolean
  /** the bearer token every /_hopwatch call must carry; made at start when not given */
  token?: string
}

export interface RunningAdmin {
  url: string
  token: string
  close(): Promise<void>
}

const MAX_SQL_BYTES = 1024 * 1024
/** One POST of rows at most: a generator sends its batches, thousands of rows, well below it. */
const MAX_ROWS_BYTES = 32 * 1024 * 1024

/** A token for one proxy's life: 256 bits, URL-safe. */
export function newAdminToken(): string {
  return randomBytes(32).toString('base64url')
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'))
}

async function readText(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Why a request may not use the admin API, or undefined when it may. A web page in the user's browser can send a
 * "simple" cross-site POST without any CORS permission (mode: 'no-cors'); browsers mark every such request with
 * Origin and Sec-Fetch-Site, which hopwatch's own clients never send, and cannot attach an Authorization header or a
 * JSON content type without a preflight this API never grants.
 */
function refusal(req: IncomingMessage, options: AdminOptions, token: string): { status: number; code: 'HW_PROXY_ADMIN_FORBIDDEN' | 'HW_PROXY_ADMIN_CROSS_SITE' | 'HW_PROXY_ADMIN_TOKEN'; message: string } | undefined {
  if (!options.allowRemote && !isLoopback(req.socket.remoteAddress)) return { status: 403, code: 'HW_PROXY_ADMIN_FORBIDDEN', message: 'the admin API answers loopback callers only (proxy.admin_remote)' }
  const site = req.headers['sec-fetch-site']
  if (req.headers.origin !== undefined || (site !== undefined && site !== 'none' && site !== 'same-origin')) {
    return { status: 403, code: 'HW_PROXY_ADMIN_CROSS_SITE', message: 'the admin API does not answer requests from web pages (Origin or Sec-Fetch-Site present)' }
  }
  const auth = req.headers.authorization ?? ''
  const given = auth.startsWith('Bearer ') ? auth.slice(7).trim() : ''
  if (!sameToken(given, token)) return { status: 401, code: 'HW_PROXY_ADMIN_TOKEN', message: 'send the admin token as Authorization: Bearer <token> (hopwatch commands read it from the store\'s owner file)' }
  return undefined
}

/** Whether a request says its body is JSON: a type a web page cannot send cross-site without a preflight. */
function sendsJson(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() === 'application/json'
}

/** The body as a JSON object, or undefined when it is larger than `maxBytes`, not JSON, or not an object. */
async function readJson(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown> | undefined> {
  const text = await readText(req, maxBytes)
  try {
    const value: unknown = text === undefined ? undefined : JSON.parse(text)
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

async function serveRows(hooks: AdminHooks, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (hooks.rows === undefined) {
    req.resume()
    return sendProxyError(res, 503, 'HW_PROXY_ADMIN_NO_STORE', 'this process takes no rows from others')
  }
  if (!sendsJson(req)) {
    req.resume()
    return sendProxyError(res, 415, 'HW_PROXY_BAD_REQUEST', 'send rows as JSON: Content-Type: application/json, {"table": "turns", "rows": […]}')
  }
  const body = await readJson(req, MAX_ROWS_BYTES)
  if (body === undefined || typeof body.table !== 'string' || !Array.isArray(body.rows)) {
    return sendProxyError(res, 400, 'HW_PROXY_BAD_REQUEST', `send {"table": "<name>", "rows": [{…}, …]} (at most ${MAX_ROWS_BYTES} bytes) as the POST body`)
  }
  const answer = hooks.rows(body.table, body.rows)
  if ('refused' in answer) return sendProxyError(res, 400, 'HW_PROXY_BAD_REQUEST', answer.refused)
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify(answer))
}

async function serveSql(hooks: AdminHooks, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (hooks.sql === undefined) return sendProxyError(res, 503, 'HW_PROXY_ADMIN_NO_STORE', 'this proxy has no store')
  if (!sendsJson(req)) return sendProxyError(res, 415, 'HW_PROXY_BAD_REQUEST', 'send the statement as JSON: Content-Type: application/json, {"sql": "SELECT …"}')
  const statement = (await readJson(req, MAX_SQL_BYTES))?.sql
  if (typeof statement !== 'string' || statement.trim() === '') {
    return sendProxyError(res, 400, 'HW_PROXY_BAD_REQUEST', `send {"sql": "<one statement>"} (at most ${MAX_SQL_BYTES} bytes) as the POST body`)
  }
  let readOnly: string
  try {
    readOnly = readOnlyStatement(statement)
  } catch (err) {
    if (err instanceof ReadOnlySqlError) return sendProxyError(res, 400, 'HW_PROXY_ADMIN_READ_ONLY', err.message)
    throw err
  }
  // a caller that goes away cancels its query: it must not run on for minutes beside the recording
  const abort = new AbortController()
  res.on('close', () => {
    if (!res.writableFinished) abort.abort()
  })
  const lines = hooks.sql(readOnly, abort.signal)[Symbol.asyncIterator]()
  let first: IteratorResult<string>
  try {
    first = await lines.next() // errors surface before the 200 is sent
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'HW_STORE_QUERY'
    const body = JSON.stringify({ error: { type: 'hopwatch_store_error', code, message: (err as Error).message } })
    if (!res.destroyed) {
      res.writeHead(400, { 'content-type': 'application/json', 'x-hopwatch-error': code })
      res.end(body)
    }
    return
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson' })
  try {
    for (let next = first; next.done !== true; next = await lines.next()) {
      if (!res.write(`${next.value}\n`)) await new Promise((r) => res.once('drain', r))
    }
    res.end()
  } catch {
    res.destroy() // a failure mid-stream: the caller sees a truncated body, not a false success
  }
}

/**
 * The admin API on a listener of its own (like Envoy's admin port, default 127.0.0.1 and a free port), never mixed
 * with proxied traffic: GET /healthz (open, for liveness), and with the token POST /_hopwatch/sql (one read-only
 * statement, JSON in, JSON lines out), POST /_hopwatch/rows (a generator's rows into this process's store, so a
 * `hopwatch load` beside a proxy that owns the embedded store writes one run with it) and GET /_hopwatch/stats.
 */
export async function startAdmin(hooks: AdminHooks, options: AdminOptions): Promise<RunningAdmin> {
  const token = options.token ?? newAdminToken()
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path === '/healthz' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"status":"ok"}')
      return
    }
    const refused = refusal(req, options, token)
    if (refused !== undefined) {
      req.resume()
      return sendProxyError(res, refused.status, refused.code, refused.message)
    }
    if (path === '/_hopwatch/sql' && req.method === 'POST') {
      serveSql(hooks, req, res).catch(() => res.destroy())
      return
    }
    if (path === '/_hopwatch/rows' && req.method === 'POST') {
      serveRows(hooks, req, res).catch(() => res.destroy())
      return
    }
    if (path === '/_hopwatch/stats' && req.method === 'GET') {
      const body = JSON.stringify(hooks.stats?.() ?? {})
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(body)
      return
    }
    req.resume()
    sendProxyError(res, 404, 'HW_PROXY_NO_ROUTE', `no admin endpoint ${req.method ?? ''} ${path ?? ''}; there are POST /_hopwatch/sql, POST /_hopwatch/rows and GET /_hopwatch/stats`)
  })
  server.headersTimeout = 10_000
  server.requestTimeout = 60_000
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, options.host, () => resolve())
    })
  } catch (err) {
    throw new ProxyError('HW_PROXY_LISTEN', `cannot listen on ${options.host}:${options.port} (proxy.admin_port): ${(err as Error).message}`, { cause: err })
  }
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
