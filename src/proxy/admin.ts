import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { sendProxyError } from './errors.js'

/** What the admin endpoints serve; every part is optional so a proxy can run with or without a store. */
export interface AdminHooks {
  /** runs one SQL statement on the store, yielding JSON lines */
  sql?: (statement: string) => AsyncIterable<string>
  /** Prometheus exposition text and its content type */
  metrics?: () => Promise<{ contentType: string; text: string }>
  /** the recorder's counters and anything else worth a look */
  stats?: () => unknown
}

const MAX_SQL_BYTES = 1024 * 1024

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

async function serveSql(hooks: AdminHooks, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (hooks.sql === undefined) return sendProxyError(res, 503, 'HW_PROXY_ADMIN_NO_STORE', 'this proxy has no store')
  const statement = await readText(req, MAX_SQL_BYTES)
  if (statement === undefined || statement.trim() === '') {
    return sendProxyError(res, 400, 'HW_PROXY_BAD_REQUEST', `send one SQL statement (at most ${MAX_SQL_BYTES} bytes) as the POST body`)
  }
  const lines = hooks.sql(statement)[Symbol.asyncIterator]()
  let first: IteratorResult<string>
  try {
    first = await lines.next() // errors surface before the 200 is sent
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'HW_STORE_QUERY'
    const body = JSON.stringify({ error: { type: 'hopwatch_store_error', code, message: (err as Error).message } })
    res.writeHead(400, { 'content-type': 'application/json', 'x-hopwatch-error': code })
    res.end(body)
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

/** Registers /healthz, /metrics and /_hopwatch/{sql,stats} on the main port. */
export function registerAdmin(app: FastifyInstance, hooks: AdminHooks, allowRemote: boolean): void {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/metrics', async (_request, reply) => {
    if (hooks.metrics === undefined) return reply.code(404).send('metrics are not enabled\n')
    const { contentType, text } = await hooks.metrics()
    return reply.type(contentType).send(text)
  })
  app.route({
    method: ['GET', 'POST'],
    url: '/_hopwatch/*',
    handler(request, reply) {
      reply.hijack()
      const res = reply.raw
      if (!allowRemote && !isLoopback(request.raw.socket.remoteAddress)) {
        return sendProxyError(res, 403, 'HW_PROXY_ADMIN_FORBIDDEN', 'the admin API answers loopback callers only (proxy.admin_remote)')
      }
      const path = (request.raw.url ?? '').split('?')[0]
      if (path === '/_hopwatch/sql' && request.method === 'POST') {
        serveSql(hooks, request.raw, res).catch(() => res.destroy())
        return
      }
      if (path === '/_hopwatch/stats') {
        const body = JSON.stringify(hooks.stats?.() ?? {})
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(body)
        return
      }
      sendProxyError(res, 404, 'HW_PROXY_NO_ROUTE', `no admin endpoint ${request.method} ${path}; there are POST /_hopwatch/sql and GET /_hopwatch/stats`)
    },
  })
}
