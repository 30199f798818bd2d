import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { WorkerPool, type Release } from './capacity.js'
import type { ServiceConfig, ServiceKind } from './config.js'
import { SIM_DEFAULTS } from './defaults.js'
import { FaultPlan, type Fate } from './faults.js'
import { callerGone, refuseUpgrade, resetConnection, sendJson, type ErrorShaper } from './http.js'
import { ServiceMetrics, type Outcome } from './metrics.js'
import { Rng, type Spread } from './random.js'

/** What a kind's handlers get: the service's config, randomness, capacity and faults. */
export interface ServiceContext {
  config: ServiceConfig
  /** content randomness (replies, transcripts); faults draw from their own stream */
  rng: Rng
  pool: WorkerPool
  faults: FaultPlan
  metrics: ServiceMetrics
  maxBodyBytes: number
  /** a service time from this spread, with the planted slowdown applied */
  serviceMs(spread: Spread): number
  /**
   * Admits an HTTP request: applies its planted fate, then waits for a worker. Undefined when the request was
   * already answered (error, rejection, timeout, reset) and the handler has nothing more to do.
   */
  admit(req: IncomingMessage, res: ServerResponse, shape: ErrorShaper): Promise<Job | undefined>
  /**
   * Accepts a WebSocket upgrade after the planted fate for the connection: a refused handshake, a hang or a reset
   * gives undefined. `drop` says the stream is to be reset part-way.
   */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, shape: ErrorShaper): Promise<{ ws: WebSocket; drop: boolean } | undefined>
}

/** An admitted request holding a worker. */
export interface Job {
  release: Release
  /** reset the connection part-way through the answer */
  drop: boolean
  waitedMs: number
  /** aborts when the caller hangs up */
  signal: AbortSignal
}

/** One kind's request handlers; `upgrade` only for kinds that speak WebSocket. */
export interface KindHandlers {
  request(req: IncomingMessage, res: ServerResponse, url: URL): void | Promise<void>
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void | Promise<void>
}

export type KindFactory = (ctx: ServiceContext) => KindHandlers

export interface RunningService {
  name: string
  kind: ServiceKind
  url: string
  port: number
  pid: number
  metrics: ServiceMetrics
  pool: WorkerPool
  faults: FaultPlan
  close(): Promise<void>
}

/** Starts one simulated service on its own port. */
export async function startService(config: ServiceConfig, options: { seed: number; host: string; kinds: Readonly<Record<ServiceKind, KindFactory>> }): Promise<RunningService> {
  const pool = new WorkerPool(config.workers, config.queue)
  const faults = new FaultPlan(config, new Rng(options.seed, `${config.name}/faults`))
  const rng = new Rng(options.seed, `${config.name}/content`)
  const timing = new Rng(options.seed, `${config.name}/timing`)
  let connections = 0
  const metrics = new ServiceMetrics(config, pool, faults, () => connections)
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024, perMessageDeflate: false })
  // requests held open by a planted timeout, answered by nothing until the caller or close() ends them
  const held = new Set<Duplex>()

  const ctx: ServiceContext = {
    config,
    rng,
    pool,
    faults,
    metrics,
    maxBodyBytes: SIM_DEFAULTS.max_body_bytes,
    serviceMs: (spread) => timing.latencyMs(spread) * faults.slowdown(),
    async admit(req, res, shape) {
      const fate = drawFate(req.socket, (status, body) => sendJson(res, status, body), shape)
      if (fate === undefined) return undefined
      const signal = callerGone(req, res)
      const admission = await pool.acquire(signal)
      if (!admission.admitted) {
        metrics.count(admission.reason === 'aborted' ? 'aborted' : 'rejected')
        if (admission.reason === 'queue_full') sendJson(res, config.reject_status, shape(config.reject_status, PLANTED_MESSAGES[config.reject_status] ?? 'busy'), { 'retry-after': '1' })
        return undefined
      }
      res.once('close', admission.release)
      return { release: admission.release, drop: fate.drop, waitedMs: admission.waitedMs, signal }
    },
    async accept(req, socket, head, shape) {
      const fate = drawFate(socket, (status, body) => refuseUpgrade(socket, status, body), shape)
      if (fate === undefined) return undefined
      const ws = await new Promise<WebSocket>((resolve) => wss.handleUpgrade(req, socket, head, resolve))
      return { ws, drop: fate.drop }
    },
  }

  /**
   * Draws a request's (or stream's) fate and retains its share of the leak. A planted error is carried out here —
   * held unanswered, reset, or answered with its status through `answer` — and gives undefined.
   */
  function drawFate(socket: Duplex, answer: (status: number, body: unknown) => void, shape: ErrorShaper): Fate | undefined {
    const fate = faults.fate()
    faults.leak()
    if (fate.error === undefined) return fate
    if (fate.error === 'timeout') {
      metrics.count('timeout')
      hold(socket)
    } else if (fate.error === 'reset') {
      metrics.count('reset')
      resetConnection(socket)
    } else {
      const status = Number(fate.error)
      metrics.count(`error_${fate.error}`)
      answer(status, shape(status, PLANTED_MESSAGES[status] ?? 'error'))
    }
    return undefined
  }

  function hold(socket: Duplex): void {
    held.add(socket)
    socket.once('close', () => held.delete(socket))
  }

  const handlers = options.kinds[config.kind](ctx)
  const server: Server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim')
    if (req.method === 'GET' && url.pathname === '/metrics') {
      void metrics.render().then((text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType })
        res.end(text)
      })
      return
    }
    if (req.method === 'GET' && url.pathname === '/healthz') {
      sendJson(res, 200, { ok: true, service: config.name, kind: config.kind })
      return
    }
    Promise.resolve(handlers.request(req, res, url)).catch((err: unknown) => {
      // a handler bug answers 500 and the service goes on serving everyone else
      process.stderr.write(`hopwatch sim: ${config.name}: ${(err as Error).stack ?? String(err)}\n`)
      if (!res.headersSent) sendJson(res, 500, { error: { message: 'simulator fault', type: 'server_error' } })
      else res.destroy()
    })
  })
  if (config.max_connections > 0) server.maxConnections = config.max_connections
  server.on('connection', (socket) => {
    connections++
    socket.once('close', () => connections--)
  })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {})
    const url = new URL(req.url ?? '/', 'http://sim')
    if (handlers.upgrade === undefined) {
      refuseUpgrade(socket, 404, { error: `${config.kind} has no WebSocket endpoint at ${url.pathname}` })
      return
    }
    Promise.resolve(handlers.upgrade(req, socket, head, url)).catch((err: unknown) => {
      process.stderr.write(`hopwatch sim: ${config.name}: ${(err as Error).stack ?? String(err)}\n`)
      socket.destroy()
    })
  })
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    else socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  return {
    name: config.name,
    kind: config.kind,
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    port,
    pid: process.pid,
    metrics,
    pool,
    faults,
    close: async () => {
      for (const socket of held) socket.destroy()
      for (const client of wss.clients) client.terminate()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** The message of a planted error, as the caller reads it. */
const PLANTED_MESSAGES: Record<number, string> = {
  429: 'Rate limit reached: too many requests at once. Please retry after a short wait.',
  500: 'The server had an error while processing your request. Sorry about that!',
  503: 'The service is currently overloaded, please try again later.',
}

export type { Outcome }
