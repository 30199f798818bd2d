import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import websocket from '@fastify/websocket'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import type { HopwatchConfig } from '../config/index.js'
import { startAdmin, type AdminHooks, type RunningAdmin } from './admin.js'
import { firstByteObserver } from './adapters/http.js'
import type { HttpObserver, RequestInfo } from './adapters/types.js'
import { correlate, nextTurnOnConnection } from './correlation.js'
import { ProxyError, proxyErrorBody, sendProxyError } from './errors.js'
import { Hop } from './hop.js'
import { forwardHttp, type ForwardLimits } from './http-forward.js'
import { Upstream } from './upstream.js'
import { dialUpstream, relayWebSocket, type DialledUpstream } from './ws-relay.js'
import { checkRequestTarget } from './request-target.js'
import { cameThroughHere, PROXY_VIA } from './headers.js'
import { ClientConnections } from './client-cap.js'

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
/** How often Node checks connections against the headers and request timeouts (its default, 30 s, lets a slowloris linger). */
const CONNECTIONS_CHECK_MS = 1000

/** The callers' side of a listener: headers and request deadlines, keep-alive life, connection caps (all, per client). */
function clientLimits(server: Server, clients: HopwatchConfig['proxy']['clients'], perClient: ClientConnections): Server {
  server.headersTimeout = clients.headers_timeout_ms
  server.requestTimeout = clients.request_timeout_ms
  server.keepAliveTimeout = clients.keep_alive_ms
  server.maxConnections = clients.max_connections
  perClient.attach(server)
  return server
}

function refuseClient(res: ServerResponse, max: number): void {
  res.shouldKeepAlive = false
  sendProxyError(res, 503, 'HW_PROXY_CLIENT_LIMIT', `this client already holds ${max} connections to the proxy (proxy.clients.max_connections_per_client)`)
}

/** How long close() lets in-flight hops finish before cutting them. */
const DRAIN_MS = 10_000

export interface ProxyOptions {
  config: HopwatchConfig
  /** the run for hops whose caller names none */
  runId: string
  admin?: AdminHooks
  /** the admin API's bearer token (made at start when not given) */
  adminToken?: string
  /** the OTLP/HTTP trace receiver, served at /v1/traces on the main port */
  otlp?: { handle(req: IncomingMessage, res: ServerResponse): void }
  /** false: no admin listener here (a `--workers` worker: the process that owns the store serves it) */
  adminApi?: boolean
}

export interface RunningProxy {
  /** the main port's base URL */
  readonly url: string
  /** each upstream's base URL as a caller should use it (main URL + prefix, or its own port) */
  readonly upstreamUrls: ReadonlyMap<string, string>
  readonly upstreams: readonly Upstream[]
  /** the admin API's own listener (POST /_hopwatch/sql, GET /_hopwatch/stats), and the token it requires ('' without one) */
  readonly adminUrl: string
  readonly adminToken: string
  close(): Promise<void>
}

interface Route {
  upstream: Upstream
  /** path and query as the upstream gets them (after the prefix) */
  upstreamPath: string
  info: RequestInfo
  /** why the target is refused (absolute-form, traversal, …): answered 400, nothing forwarded */
  refused?: string
  /** the conversation a `/_hw/<id>` path segment named (for clients that cannot add headers) */
  conversation?: string
}

/** `/_hw/<conversation>` right after the upstream's prefix: how a client that cannot add headers names its conversation. */
const PATH_CONVERSATION = /^\/_hw\/([^/?#]*)/
const CONVERSATION_ID = /^[A-Za-z0-9._:-]{1,128}$/

type Resolver = (url: string, req: IncomingMessage) => Route | undefined

function routeFor(upstream: Upstream, rest: string, req: IncomingMessage): Route {
  // the per-request path: the regex only runs for the rare target that starts with the marker
  const named = rest.startsWith('/_hw/') ? PATH_CONVERSATION.exec(rest) : null
  if (named !== null) {
    const id = named[1] ?? ''
    const route = routeFor(upstream, rest.slice(named[0].length), req)
    if (!CONVERSATION_ID.test(id)) return { ...route, refused: `the path segment /_hw/${id.slice(0, 40)} names a conversation: 1 to 128 letters, digits, '.', '_', ':' or '-'` }
    return route.refused !== undefined ? route : { ...route, conversation: id }
  }
  const upstreamPath = rest === '' ? '/' : rest
  const q = upstreamPath.indexOf('?')
  const path = q === -1 ? upstreamPath : upstreamPath.slice(0, q)
  // the prefix itself with a query (/api?x=1) is the upstream's base path with that query: checked as "/?x=1"
  const check = checkRequestTarget(upstreamPath.startsWith('?') ? `/${upstreamPath}` : upstreamPath)
  return { upstream, upstreamPath, info: { method: req.method ?? 'GET', path, query: q === -1 ? '' : upstreamPath.slice(q + 1), headers: req.headers }, ...(check.ok ? {} : { refused: check.reason }) }
}

/** Longest prefix first, matching whole path segments only: /llm serves /llm and /llm/…, never /llmx. */
function prefixResolver(upstreams: readonly Upstream[]): Resolver {
  const byPrefix = upstreams.filter((u) => u.config.prefix !== undefined).sort((a, b) => (b.config.prefix?.length ?? 0) - (a.config.prefix?.length ?? 0))
  return (url, req) => {
    for (const upstream of byPrefix) {
      const prefix = upstream.config.prefix as string
      if (!url.startsWith(prefix)) continue
      const next = url.charCodeAt(prefix.length)
      if (Number.isNaN(next) || next === 47 /* / */ || next === 63 /* ? */) return routeFor(upstream, url.slice(prefix.length), req)
    }
    return undefined
  }
}

/** Forwards one routed HTTP request: correlation, a hop, the adapter's observer, then the stream. */
function forwardRoute(route: Route, req: IncomingMessage, res: ServerResponse, runId: string, limits: ForwardLimits): void {
  if (cameThroughHere(req.headers.via, route.upstream.name)) return sendProxyError(res, 508, 'HW_PROXY_LOOP', `this request already passed through this proxy (Via ${PROXY_VIA}): upstream ${route.upstream.name} leads back to it`)
  const correlation = correlate(req.headers, req.socket, runId, route.conversation)
  const hop = new Hop(route.upstream, route.upstream.componentOf(route.info), correlation, correlation.turn ?? nextTurnOnConnection(req.socket), 'http', route.info.method, route.info.path)
  let observer: HttpObserver | undefined
  try {
    if (route.upstream.adapter.auxiliary?.(route.info) === true) hop.markAuxiliary()
    observer = route.upstream.adapter.http?.(route.info, hop)
  } catch {
    observer = undefined
  }
  forwardHttp(route.upstream, req, res, route.upstreamPath, hop, observer ?? firstByteObserver(hop), limits)
}

/** What one listener serves besides the config: its routing, the shared per-client count, the OTLP receiver. */
interface Listener {
  resolve: Resolver
  perClient: ClientConnections
  otlp?: ProxyOptions['otlp']
  /** where each upstream is reachable, for a 404's message (known once every listener is up) */
  where: () => string
}

function buildApp(config: HopwatchConfig, runId: string, { resolve, perClient, otlp, where }: Listener): FastifyInstance {
  const proxy = config.proxy
  const limits = { maxBodyBytes: proxy.max_body_bytes, bodyIdleMs: proxy.clients.body_idle_ms }
  const app = Fastify({
    logger: false,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Proxied requests go straight to the forwarder: fastify's per-request lifecycle (request and reply objects,
    // hooks, content-type parsing) would only add CPU to every hop. Fastify keeps the server, the admin routes, the
    // 404s and the WebSocket upgrades (which arrive as 'upgrade' events, never here).
    // fastify applies none of its own timeouts to a server from a factory: they are set on it here
    serverFactory: (fastifyHandler) =>
      clientLimits(createServer({ connectionsCheckingInterval: CONNECTIONS_CHECK_MS }, (req, res) => {
        if (perClient.refuses(req.socket)) return refuseClient(res, perClient.max)
        if (otlp !== undefined && (req.url === '/v1/traces' || req.url?.startsWith('/v1/traces?') === true)) return otlp.handle(req, res)
        const route = resolve(req.url ?? '/', req)
        if (route?.refused !== undefined) sendProxyError(res, 400, 'HW_PROXY_BAD_TARGET', route.refused)
        else if (route !== undefined) forwardRoute(route, req, res, runId, limits)
        else fastifyHandler(req, res)
      }), proxy.clients, perClient),
  })
  // bodies stream to the upstream untouched: no parser reads them
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))
  void app.register(websocket, { options: { maxPayload: proxy.max_frame_bytes, perMessageDeflate: false }, errorHandler: () => {} })

  const relayLimits = { maxFrameBytes: proxy.max_frame_bytes, highWaterBytes: proxy.ws_high_water_bytes }

  // fastify sees only what the server factory could not route: every plain request reaching a route here is a 404
  const noRoute = (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack()
    sendProxyError(reply.raw, 404, 'HW_PROXY_NO_ROUTE', `no upstream serves ${request.method} ${(request.raw.url ?? '').split('?')[0]}; ${where()}`)
  }

  // an upgrade is routed and its upstream dialled in the hook, before the caller's handshake is answered; the
  // WebSocket handler picks the open upstream up
  const upgrades = new WeakMap<IncomingMessage, { dialled: DialledUpstream; forget: () => void }>()
  const ws = (socket: WebSocket, request: FastifyRequest) => {
    const pending = upgrades.get(request.raw)
    if (pending === undefined) return void socket.close(1011, 'hopwatch: no upstream') // the hook answers every upgrade it cannot route
    upgrades.delete(request.raw)
    pending.forget()
    relayWebSocket(socket, pending.dialled, relayLimits)
  }

  void app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      if (request.headers.upgrade === undefined) return
      if (perClient.refuses(request.raw.socket)) {
        reply.raw.shouldKeepAlive = false
        const message = `this client already holds ${perClient.max} connections to the proxy (proxy.clients.max_connections_per_client)`
        return reply.code(503).header('connection', 'close').header('x-hopwatch-error', 'HW_PROXY_CLIENT_LIMIT').send(proxyErrorBody('HW_PROXY_CLIENT_LIMIT', message))
      }
      const route = resolve(request.raw.url ?? '/', request.raw)
      if (route?.refused !== undefined) return reply.code(400).header('x-hopwatch-error', 'HW_PROXY_BAD_TARGET').send(proxyErrorBody('HW_PROXY_BAD_TARGET', route.refused))
      if (route !== undefined && cameThroughHere(request.headers.via, route.upstream.name)) return reply.code(508).header('x-hopwatch-error', 'HW_PROXY_LOOP').send(proxyErrorBody('HW_PROXY_LOOP', `this upgrade already passed through this proxy: upstream ${route.upstream.name} leads back to it`))
      if (route !== undefined) {
        const dialled = await dialUpstream(request.raw, route.upstream, route.info, correlate(request.headers, request.raw.socket, runId, route.conversation), relayLimits)
        // the upstream refused (or cannot be reached): the caller's handshake gets its answer
        if (!dialled.open) return reply.code(dialled.status).headers(dialled.headers).send(dialled.body)
        // a caller gone before its handshake completes leaves no upstream socket behind
        const gone = () => dialled.peer.terminate()
        request.raw.socket.once('close', gone)
        upgrades.set(request.raw, { dialled, forget: () => request.raw.socket.off('close', gone) })
        return
      }
      const message = `no upstream serves WebSocket ${(request.raw.url ?? '').split('?')[0]}; ${where()}`
      return reply.code(404).header('x-hopwatch-error', 'HW_PROXY_NO_ROUTE').send(proxyErrorBody('HW_PROXY_NO_ROUTE', message))
    })
    scope.route({ method: 'GET', url: '/*', handler: noRoute, wsHandler: ws, exposeHeadRoute: false })
    scope.route({ method: METHODS.filter((m) => m !== 'GET'), url: '/*', handler: noRoute })
  })
  return app
}

/**
 * What the main port serves besides upstreams: /healthz and /metrics (read-only, for probes and scrapes). The admin
 * API is on its own listener; a call for it here is told where it went.
 */
function registerOpen(app: FastifyInstance, hooks: AdminHooks): void {
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
      sendProxyError(reply.raw, 404, 'HW_PROXY_NO_ROUTE', 'the admin API is on its own listener (proxy.admin_host:proxy.admin_port), not on the proxy port')
    },
  })
}

/** An upstream whose target is one of this proxy's own listeners would send every request round forever. */
function refuseSelfTargets(upstreams: readonly Upstream[], own: readonly string[]): void {
  const local = (host: string) => host === 'localhost' || host === '0.0.0.0' || host === '::' || host === '::1' || host.startsWith('127.')
  const ownPorts = new Set(own.map((u) => Number(new URL(u).port)))
  for (const u of upstreams) {
    if (local(u.hostname) && ownPorts.has(u.port)) throw new ProxyError('HW_PROXY_LOOP', `upstreams ${u.name}.target ${u.config.target} is this proxy itself: every request would come round again; point it at the real service`)
  }
}

async function listen(app: FastifyInstance, host: string, port: number, backlog: number, what: string): Promise<string> {
  try {
    await app.listen({ host, port, backlog })
  } catch (err) {
    throw new ProxyError('HW_PROXY_LISTEN', `cannot listen on ${host}:${port} (${what}): ${(err as Error).message}`, { cause: err })
  }
  const address = app.server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  return `http://${host.includes(':') ? `[${host}]` : host}:${bound}`
}

/** Starts the proxy: the main port (admin and prefixed upstreams) and one port per upstream that asks for its own. */
export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const { config } = options
  const upstreams = config.upstreams.map((u) => new Upstream(u, config.proxy))
  const apps: FastifyInstance[] = []
  const upstreamUrls = new Map<string, string>()
  // one count per client address across every listener
  const perClient = new ClientConnections(config.proxy.clients.max_connections_per_client)
  let admin: RunningAdmin | undefined
  const closeAll = async () => {
    await admin?.close()
    const timer = setTimeout(() => {
      for (const app of apps) app.server.closeAllConnections()
    }, DRAIN_MS)
    timer.unref()
    await Promise.all(apps.map((app) => app.close()))
    clearTimeout(timer)
    await Promise.all(upstreams.map((u) => u.close()))
  }
  try {
    // each upstream where callers reach it: a prefix on the main port, or a port of its own
    const where = () => `the upstreams are ${upstreams.map((u) => `${u.name} at ${u.config.prefix !== undefined ? `${u.config.prefix}/…` : (upstreamUrls.get(u.name) ?? `port ${u.config.port ?? 0}`)}`).join(', ')}`
    const main = buildApp(config, options.runId, { resolve: prefixResolver(upstreams), perClient, ...(options.otlp !== undefined ? { otlp: options.otlp } : {}), where })
    registerOpen(main, options.admin ?? {})
    apps.push(main)
    if (options.adminApi !== false) admin = await startAdmin(options.admin ?? {}, { host: config.proxy.admin_host, port: config.proxy.admin_port, allowRemote: config.proxy.admin_remote, ...(options.adminToken !== undefined ? { token: options.adminToken } : {}) })
    const url = await listen(main, config.proxy.host, config.proxy.port, config.proxy.clients.listen_backlog, 'proxy.port')
    for (const upstream of upstreams) {
      if (upstream.config.prefix !== undefined) {
        upstreamUrls.set(upstream.name, `${url}${upstream.config.prefix}`)
        continue
      }
      const own = buildApp(config, options.runId, { resolve: (rawUrl, req) => routeFor(upstream, rawUrl, req), perClient, where })
      apps.push(own)
      upstreamUrls.set(upstream.name, await listen(own, config.proxy.host, upstream.config.port ?? 0, config.proxy.clients.listen_backlog, `upstreams ${upstream.name}.port`))
    }
    refuseSelfTargets(upstreams, [url, ...upstreamUrls.values(), ...(admin !== undefined ? [admin.url] : [])])
    return { url, upstreamUrls, upstreams, adminUrl: admin?.url ?? '', adminToken: admin?.token ?? '', close: closeAll }
  } catch (err) {
    await closeAll().catch(() => {})
    throw err
  }
}
