import { Pool } from 'undici'
import type { HopwatchConfig, UpstreamConfig } from '../config/index.js'
import { adapterNamed } from './adapters/registry.js'
import type { Adapter } from './adapters/types.js'

export type Timeouts = HopwatchConfig['proxy']['timeouts']

/** A configured upstream at run time: where it is, its connection pool, its adapter and its in-flight count. */
export class Upstream {
  readonly adapter: Adapter
  readonly pool: Pool
  /** host:port, the `instance` column */
  readonly instance: string
  readonly httpOrigin: string
  readonly wsOrigin: string
  /** the target's path, prefixed to every forwarded path ('' when the target has none) */
  readonly basePath: string
  readonly timeouts: Timeouts
  inFlight = 0

  constructor(
    readonly config: UpstreamConfig,
    defaults: HopwatchConfig['proxy'],
  ) {
    const target = new URL(config.target)
    const secure = target.protocol === 'https:' || target.protocol === 'wss:'
    this.instance = target.host
    this.httpOrigin = `${secure ? 'https' : 'http'}://${target.host}`
    this.wsOrigin = `${secure ? 'wss' : 'ws'}://${target.host}`
    this.basePath = target.pathname === '/' ? '' : target.pathname.replace(/\/$/, '')
    this.adapter = adapterNamed(config.adapter)
    this.timeouts = config.timeouts ?? defaults.timeouts
    this.pool = new Pool(this.httpOrigin, {
      connections: defaults.connections_per_upstream,
      connect: { timeout: this.timeouts.connect_ms },
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

  close(): Promise<void> {
    return this.pool.destroy()
  }
}
