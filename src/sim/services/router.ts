import type { IncomingMessage, ServerResponse } from 'node:http'
import { Agent, request } from 'undici'
import { readBody, sendJson, wait } from '../http.js'
import type { KindFactory } from '../service.js'
import { openaiError, openaiNoRoute, readOpenaiJson } from './openai-errors.js'

/** Request headers a router passes on: the caller's credentials, trace context (baggage, traceparent), sim controls. */
const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-connection'])

interface Route {
  name: string
  url: string | undefined
  model: string | undefined
  weight: number
}

/**
 * A model router (the `multi-model` architecture): an OpenAI-compatible `POST /v1/chat/completions` that sends each
 * request to one of its routes — the one serving the requested model, else one drawn by weight — and streams the
 * answer back unchanged. Trace context (`baggage`, `traceparent`) goes along, so through the proxy the routed LLM
 * hop joins the caller's turn. `PUT /_sim/routes` ({name: url}) re-points routes at run time (e.g. at the proxy).
 */
export const router: KindFactory = (ctx) => {
  const routes: Route[] = ctx.config.routes.map((r) => ({ name: r.name, url: r.url, model: r.model, weight: r.weight }))
  const agent = new Agent({ connections: 4096, keepAliveTimeout: 30_000, headersTimeout: 600_000, bodyTimeout: 600_000 })

  function choose(model: unknown): Route | undefined {
    const usable = routes.filter((r) => r.url !== undefined)
    const named = usable.find((r) => r.model !== undefined && r.model === model)
    if (named !== undefined) return named
    const pool = usable.filter((r) => r.model === undefined || r.weight > 0)
    const total = pool.reduce((sum, r) => sum + r.weight, 0)
    let x = ctx.rng.next() * total
    for (const r of pool) {
      x -= r.weight
      if (x < 0) return r
    }
    return pool.at(-1)
  }

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const incoming = await readOpenaiJson(ctx, req, res)
    if (incoming === undefined) return
    const { raw, body } = incoming
    const job = await ctx.admit(req, res, openaiError)
    if (job === undefined) return
    try {
      if (!(await wait(ctx.serviceMs(ctx.config.latency), job.signal))) return void ctx.metrics.count('aborted')
      const route = choose(body.model)
      if (route === undefined) {
        ctx.metrics.count('error_503')
        sendJson(res, 503, openaiError(503, 'No route can serve this request: every route is unset or weighted 0.'))
        return
      }
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name) && typeof value === 'string') headers[name] = value
      let upstream
      try {
        upstream = await request(`${route.url}/chat/completions`, { dispatcher: agent, method: 'POST', headers, body: raw, signal: job.signal })
      } catch (err) {
        if (job.signal.aborted) return void ctx.metrics.count('aborted')
        ctx.metrics.count('error_500')
        sendJson(res, 502, openaiError(500, `route ${route.name} did not answer: ${(err as Error).message}`))
        return
      }
      const contentType = upstream.headers['content-type']
      res.writeHead(upstream.statusCode, { ...(typeof contentType === 'string' ? { 'content-type': contentType } : {}), 'x-sim-routed-to': route.name, 'x-sim-queue-ms': job.waitedMs.toFixed(1) })
      try {
        for await (const chunk of upstream.body as AsyncIterable<Buffer>) {
          if (!res.write(chunk)) await new Promise((r) => res.once('drain', r))
        }
        res.end()
        ctx.metrics.count(upstream.statusCode < 400 ? 'ok' : 'error_500')
      } catch {
        ctx.metrics.count(job.signal.aborted ? 'aborted' : 'reset')
        res.destroy()
      }
    } finally {
      job.release()
    }
  }

  async function setRoutes(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const remote = req.socket.remoteAddress ?? ''
    if (!(remote === '127.0.0.1' || remote === '::1' || remote === '::ffff:127.0.0.1')) return sendJson(res, 403, { error: 'routes are set from the simulator\'s own host only' })
    const raw = await readBody(req, 64 * 1024)
    let update: Record<string, unknown>
    try {
      update = JSON.parse(raw === 'too_large' ? '' : raw.toString('utf8')) as Record<string, unknown>
    } catch {
      return sendJson(res, 400, { error: 'send {"route name": "http://…/v1", …}' })
    }
    const unknown = Object.keys(update).filter((name) => !routes.some((r) => r.name === name))
    if (unknown.length > 0) return sendJson(res, 404, { error: `no route ${unknown.join(', ')}; routes are ${routes.map((r) => r.name).join(', ')}` })
    for (const r of routes) if (typeof update[r.name] === 'string') r.url = update[r.name] as string
    sendJson(res, 200, { routes: routes.map((r) => ({ name: r.name, url: r.url, model: r.model ?? null, weight: r.weight })) })
  }

  return {
    async request(req, res, url) {
      const path = url.pathname.replace(/^\/v1(?=\/)/, '')
      if (req.method === 'POST' && path === '/chat/completions') return forward(req, res)
      if (req.method === 'PUT' && url.pathname === '/_sim/routes') return setRoutes(req, res)
      ctx.metrics.count('bad_request')
      sendJson(res, 404, openaiNoRoute(req.method ?? 'GET', url.pathname))
    },
  }
}

