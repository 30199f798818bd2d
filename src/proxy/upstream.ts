import { hostname } from 'node:os'
import { Pool } from 'undici'
import type { HopwatchConfig, UpstreamConfig } from '../config/index.js'
import { adapterNamed } from './adapters/registry.js'
import type { Adapter, RequestInfo } from './adapters/types.js'
import { upstreamDns } from './dns-cache.js'
import type { Component } from '../types.js'

export type Timeouts = HopwatchConfig['proxy']['timeouts']

/** The proxy's name (the `proxy` column, its alerts' key): the config's, else its host (a pod's name) and process id. */
export function proxyNameOf(proxy: HopwatchConfig['proxy']): string {
  return proxy.name ?? `${process.env.HOSTNAME ?? hostname()}/${process.pid}`
}

/** Hops in flight per upstream and component. */
export type InFlightSnapshot = Array<{ name: string; component: Component; inFlight: number }>

/** The hops in flight through these upstreams, per upstream and component (the in-flight gauge, a worker's report). */
export function inFlightOf(upstreams: readonly Upstream[]): InFlightSnapshot {
  return upstreams.flatMap((u) => u.inFlightByComponent().map((c) => ({ name: u.name, ...c })))
}

/** Where an upstream's target is: host (without IPv6 brackets) and port, the scheme's default when none is given. */
export function addressOf(targetUrl: string): { target: URL; secure: boolean; hostname: string; port: number } {
  const target = new URL(targetUrl)
  const secure = target.protocol === 'https:' || target.protocol === 'wss:'
  return { target, secure, hostname: target.hostname.replace(/^\[|\]$/g, ''), port: Number(target.port || (secure ? 443 : 80)) }
}

/** A configured upstream at run time: where it is, its connection pool, its adapter and its in-flight count. */
export class Upstream {
  readonly adapter: Adapter
  readonly pool: Pool
  /** host:port, the `instance` column */
  readonly instance: string
  /** the proxy's own name, the `proxy` column */
  readonly proxyName: string
  /** the target's host name (no brackets for IPv6) and port, its scheme's default when the URL names none */
  readonly hostname: string
  readonly port: number
  readonly httpOrigin: string
  readonly wsOrigin: string
  /** the target's path, prefixed to every forwarded path ('' when the target has none) */
  readonly basePath: string
  readonly timeouts: Timeouts
  /** requests in flight per component (one upstream may serve several: OpenAI's chat, speech, transcriptions) */
  private readonly flying = new Map<Component, number>()
  /** the config's routes, longest path first */
  private readonly routes: ReadonlyArray<{ path: string; component: Component }>

  constructor(
    readonly config: UpstreamConfig,
    defaults: HopwatchConfig['proxy'],
  ) {
    const { target, secure, hostname, port } = addressOf(config.target)
    this.instance = target.host
    this.proxyName = proxyNameOf(defaults)
    this.hostname = hostname
    this.port = port
    this.httpOrigin = `${secure ? 'https' : 'http'}://${target.host}`
    this.wsOrigin = `${secure ? 'wss' : 'ws'}://${target.host}`
    this.basePath = target.pathname === '/' ? '' : target.pathname.replace(/\/$/, '')
    this.adapter = adapterNamed(config.adapter)
    this.timeouts = config.timeouts ?? defaults.timeouts
    this.routes = [...config.routes].sort((a, b) => b.path.length - a.path.length)
    this.flying.set(config.component, 0)
    this.pool = new Pool(this.httpOrigin, {
      connections: defaults.connections_per_upstream,
      // a name is resolved once and renewed in the background, never on a caller's way (dns-cache.ts)
      connect: { timeout: this.timeouts.connect_ms, lookup: upstreamDns.lookup },
      // timeouts are set per request; the pool's own would cut long LLM streams
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
      pipelining: 1,
    })
  }

  get name(): string {
    return this.config.name
  }

  /** The component a request is the work of: the config's route for its path, else the adapter's, else the upstream's. */
  componentOf(request: RequestInfo): Component {
    for (const r of this.routes) if (request.path.endsWith(r.path)) return r.component
    return this.adapter.component?.(request) ?? this.config.component
  }

  /** A request of `component` starts; its in-flight count with it included. */
  enter(component: Component): number {
    const n = (this.flying.get(component) ?? 0) + 1
    this.flying.set(component, n)
    return n
  }

  leave(component: Component): void {
    this.flying.set(component, (this.flying.get(component) ?? 1) - 1)
  }

  /** Requests in flight now, all components together. */
  get inFlight(): number {
    let n = 0
    for (const v of this.flying.values()) n += v
    return n
  }

  /** Requests in flight now by component: every component this upstream has served, and its configured one. */
  inFlightByComponent(): Array<{ component: Component; inFlight: number }> {
    return [...this.flying].map(([component, inFlight]) => ({ component, inFlight }))
  }

  close(): Promise<void> {
    return this.pool.destroy()
  }
}
