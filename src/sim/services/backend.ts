import type { IncomingMessage, ServerResponse } from 'node:http'
import { readBody, resetConnection, sendJson, wait, type ErrorShaper } from '../http.js'
import type { KindFactory, ServiceContext } from '../service.js'

/** Errors as a typical JSON REST API answers them. */
export const backendError: ErrorShaper = (status, message, code) => ({ error: { code: code ?? STATUS_CODES[status] ?? 'error', message } })

const STATUS_CODES: Record<number, string> = { 400: 'bad_request', 404: 'not_found', 413: 'payload_too_large', 429: 'rate_limited', 500: 'internal_error', 503: 'unavailable' }

type Answer = { status: number; body: unknown }

/** The API's routes: a booking system and a CRM, what a voice agent's tool calls reach. */
function route(method: string, url: URL, body: unknown, ctx: ServiceContext): Answer {
  const parts = url.pathname.split('/').filter((p) => p !== '')
  const bad = (message: string, code = 'invalid_parameter'): Answer => ({ status: 400, body: backendError(400, message, code) })
  if (parts[0] !== 'v1') return { status: 404, body: backendError(404, `no route ${method} ${url.pathname}; routes are under /v1`) }
  const [, resource, id] = parts
  if (method === 'GET' && resource === 'availability' && id === undefined) {
    const date = url.searchParams.get('date')
    if (date === null || !/^\d{4}-\d{2}-\d{2}$/.test(date)) return bad('date is required as YYYY-MM-DD', 'missing_parameter')
    const party = Number(url.searchParams.get('party') ?? 2)
    if (!Number.isInteger(party) || party < 1 || party > 20) return bad('party must be a whole number from 1 to 20')
    const slots = ['12:00', '12:30', '13:00', '18:00', '18:30', '19:00', '19:30', '20:00', '21:00'].filter(() => ctx.rng.chance(0.6))
    return { status: 200, body: { date, party, slots } }
  }
  if (method === 'POST' && resource === 'bookings' && id === undefined) {
    const b = body as { date?: unknown; time?: unknown; party?: unknown; name?: unknown } | undefined
    if (typeof b?.date !== 'string' || typeof b.time !== 'string') return bad('date (YYYY-MM-DD) and time (HH:MM) are required', 'missing_parameter')
    return { status: 201, body: { booking_id: `bk_${Math.floor(ctx.rng.next() * 1e9).toString(36)}`, status: 'confirmed', date: b.date, time: b.time, party: b.party ?? 2, name: b.name ?? null } }
  }
  if (method === 'GET' && resource === 'customers' && id !== undefined) {
    return { status: 200, body: { id, name: 'Alex Morgan', tier: ctx.rng.pick(['standard', 'gold', 'platinum']), open_tickets: ctx.rng.int(0, 3) } }
  }
  if (method === 'GET' && resource === 'orders' && id !== undefined) {
    return { status: 200, body: { id, status: ctx.rng.pick(['preparing', 'out_for_delivery', 'delivered']), eta_minutes: ctx.rng.int(5, 45) } }
  }
  // any tool the agent calls by name: POST /v1/tools/{name} with its arguments
  if (method === 'POST' && resource === 'tools' && id !== undefined) {
    return { status: 200, body: { tool: id, ok: true, arguments: body ?? {}, result: `${id.replace(/_/g, ' ')} done` } }
  }
  return { status: 404, body: backendError(404, `no route ${method} ${url.pathname}`) }
}

/** A small REST API (availability, bookings, customers, orders, tools) for the agent's tool calls. */
export const backend: KindFactory = (ctx) => ({
  async request(req: IncomingMessage, res: ServerResponse, url: URL) {
    const raw = await readBody(req, ctx.maxBodyBytes)
    if (raw === 'too_large') {
      ctx.metrics.count('bad_request')
      sendJson(res, 413, backendError(413, `request body over ${ctx.maxBodyBytes} bytes`), { connection: 'close' })
      return
    }
    let body: unknown
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'))
      } catch (err) {
        ctx.metrics.count('bad_request')
        sendJson(res, 400, backendError(400, `the body is not JSON: ${(err as Error).message}`, 'invalid_json'))
        return
      }
    }
    const job = await ctx.admit(req, res, backendError)
    if (job === undefined) return
    try {
      if (!(await wait(ctx.serviceMs(ctx.config.latency), job.signal))) {
        ctx.metrics.count('aborted')
        return
      }
      if (job.drop) {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.flushHeaders()
        ctx.metrics.count('dropped')
        setImmediate(() => resetConnection(req.socket))
        return
      }
      const answer = route(req.method ?? 'GET', url, body, ctx)
      ctx.metrics.count(answer.status < 400 ? 'ok' : 'bad_request')
      sendJson(res, answer.status, answer.body, { 'x-sim-queue-ms': job.waitedMs.toFixed(1) })
    } finally {
      job.release()
    }
  },
})
