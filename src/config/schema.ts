import { COMPONENTS } from '../types.js'
import { DEFAULTS } from './defaults.js'
import { telemetrySchema } from './telemetry-schema.js'
import { alertsSchema, resourcesSchema } from './watch-schema.js'
import { bool, int, list, num, obj, oneOf, optional, str, url, withDefault, type Context, type Validator } from './validate.js'

const D = DEFAULTS
const MIB = 1024 * 1024

const timeouts = (fallback: { connect_ms: number; headers_ms: number; idle_ms: number }) =>
  withDefault(
    obj({
      connect_ms: withDefault(int({ min: 1, max: 600_000 }), fallback.connect_ms),
      headers_ms: withDefault(int({ min: 1, max: 3_600_000 }), fallback.headers_ms),
      idle_ms: withDefault(int({ min: 1, max: 3_600_000 }), fallback.idle_ms),
    }),
    fallback,
  )

const upstream = (adapters: readonly string[]) =>
  obj({
    name: str({ pattern: /^[a-z][a-z0-9_-]{0,62}$/, fix: 'use lower-case letters, digits, "-" or "_", starting with a letter (e.g. llm-primary)' }),
    component: oneOf(COMPONENTS),
    adapter: withDefault(oneOf(adapters), 'http'),
    target: url({ protocols: ['http', 'https', 'ws', 'wss'], example: 'http://127.0.0.1:9000' }),
    prefix: optional(str({ pattern: /^\/[A-Za-z0-9._~\-/]*[A-Za-z0-9._~-]$/, fix: 'start it with "/" and do not end it with "/", e.g. /llm' })),
    port: optional(int({ min: 0, max: 65535, fix: 'give a free TCP port for this upstream (0: any free port), or use prefix: instead' })),
    timeouts: optional(timeouts(D.proxy.timeouts)),
    // the component of the requests whose path ends with `path`: for APIs that serve several (the longest match wins,
    // before the adapter's own routes and the upstream's component)
    routes: list(
      obj({
        path: str({ pattern: /^\/[A-Za-z0-9._~\-/]*$/, fix: 'the end of a request path, starting with "/", e.g. /audio/speech' }),
        component: oneOf(COMPONENTS),
      }),
      { min: 0, fix: 'list routes as "- { path: /audio/speech, component: tts }"' },
    ),
  })

/**
 * Checks across the store's fields: a cluster needs its nodes (unless it is replicated: its DDL runs ON CLUSTER), nodes
 * need a cluster, and replication needs a cluster.
 */
export function checkStore(store: { clickhouse?: { cluster?: string | undefined; nodes?: string[] | undefined; replicated?: boolean } | undefined }, ctx: Context): void {
  const c = store.clickhouse
  if (c === undefined) return
  if (c.cluster !== undefined && c.nodes === undefined && c.replicated !== true) {
    ctx.problems.push({ path: 'store.clickhouse.nodes', value: undefined, message: 'is not set, and store.clickhouse.cluster needs it', fix: "list every node's HTTP URL (hopwatch creates its tables on each), or set store.clickhouse.replicated: true on a cluster with ZooKeeper (its DDL then runs ON CLUSTER)" })
  }
  if (c.nodes !== undefined && c.cluster === undefined) {
    ctx.problems.push({ path: 'store.clickhouse.cluster', value: undefined, message: 'is not set, and store.clickhouse.nodes needs it', fix: "the cluster's name in the servers' remote_servers" })
  }
  if (c.replicated === true && c.cluster === undefined) {
    ctx.problems.push({ path: 'store.clickhouse.cluster', value: undefined, message: 'is not set, and store.clickhouse.replicated needs it', fix: "the cluster's name in the servers' remote_servers (each shard's replicas with internal_replication true)" })
  }
}

/** The `store:` section alone, for commands that need only the store (hopwatch sql). */
export function storeSchema() {
  return obj({
    dir: withDefault(str({ nonEmpty: true, fix: 'a directory for the embedded engine, e.g. ./.hopwatch' }), D.store.dir),
    database: withDefault(str({ pattern: /^[A-Za-z_][A-Za-z0-9_]{0,63}$/, fix: 'letters, digits and "_", starting with a letter' }), D.store.database),
    clickhouse: optional(
      obj({
        url: url({ protocols: ['http', 'https'], example: 'http://127.0.0.1:8123' }),
        user: withDefault(str({ fix: 'the ClickHouse user name' }), 'default'),
        // the password is better given as --clickhouse-password or HOPWATCH_CLICKHOUSE_PASSWORD than written here
        password: withDefault(str({ fix: 'the ClickHouse password, or leave it out and set HOPWATCH_CLICKHOUSE_PASSWORD' }), ''),
        // a cluster: the name in the servers' remote_servers, and every node's HTTP URL (the schema is made on each)
        cluster: optional(str({ pattern: /^[A-Za-z_][A-Za-z0-9_]{0,63}$/, fix: "the cluster's name in the servers' remote_servers, e.g. hopwatch" })),
        nodes: optional(list(url({ protocols: ['http', 'https'], example: 'http://clickhouse-0:8123' }), { min: 1, fix: "every node's HTTP URL, e.g. [http://clickhouse-0:8123, http://clickhouse-1:8123]" })),
        // ReplicatedMergeTree local tables and ON CLUSTER DDL: the servers need ZooKeeper (or Keeper), {shard} and
        // {replica} macros, and internal_replication in their remote_servers
        replicated: withDefault(bool(), false),
      }),
    ),
    queue_rows: withDefault(int({ min: 100, max: 10_000_000 }), D.store.queue_rows),
    batch_rows: withDefault(int({ min: 1, max: 1_000_000 }), D.store.batch_rows),
    flush_ms: withDefault(int({ min: 10, max: 600_000 }), D.store.flush_ms),
    retry_ms: withDefault(int({ min: 10, max: 600_000 }), D.store.retry_ms),
    insert_timeout_ms: withDefault(int({ min: 100, max: 600_000, fix: 'milliseconds an insert may take before its rows are spilled, e.g. 10000' }), D.store.insert_timeout_ms),
    spill_dir: optional(str({ nonEmpty: true, fix: 'a directory for rows the store could not take yet' })),
    spill_max_bytes: withDefault(int({ min: 0, max: Number.MAX_SAFE_INTEGER }), D.store.spill_max_bytes),
  })
}

/** The schema of hopwatch.yaml; `adapters` are the names the proxy's adapter registry knows. */
export function configSchema(adapters: readonly string[]) {
  return obj({
    run: withDefault(
      obj({
        id: optional(str({ pattern: /^[A-Za-z0-9._:-]{1,128}$/, fix: 'use letters, digits, ".", "_", ":" or "-" (at most 128)' })),
        name: withDefault(str({ fix: 'give the run a short name' }), ''),
      }),
      { id: undefined, name: '' },
    ),
    proxy: obj({
      host: withDefault(str({ nonEmpty: true, fix: 'an address to listen on, e.g. 127.0.0.1 or 0.0.0.0' }), D.proxy.host),
      port: withDefault(int({ min: 0, max: 65535, fix: 'a TCP port, or 0 for any free port' }), D.proxy.port),
      max_body_bytes: withDefault(int({ min: 1024, max: 4096 * MIB }), D.proxy.max_body_bytes),
      max_frame_bytes: withDefault(int({ min: 1024, max: 1024 * MIB }), D.proxy.max_frame_bytes),
      ws_high_water_bytes: withDefault(int({ min: 16 * 1024, max: 1024 * MIB }), D.proxy.ws_high_water_bytes),
      connections_per_upstream: withDefault(int({ min: 1, max: 100_000 }), D.proxy.connections_per_upstream),
      timeouts: timeouts(D.proxy.timeouts),
      clients: obj({
        headers_timeout_ms: withDefault(int({ min: 100, max: 3_600_000 }), D.proxy.clients.headers_timeout_ms),
        request_timeout_ms: withDefault(int({ min: 0, max: 86_400_000 }), D.proxy.clients.request_timeout_ms),
        body_idle_ms: withDefault(int({ min: 100, max: 3_600_000 }), D.proxy.clients.body_idle_ms),
        keep_alive_ms: withDefault(int({ min: 0, max: 3_600_000 }), D.proxy.clients.keep_alive_ms),
        max_connections: withDefault(int({ min: 1, max: 10_000_000 }), D.proxy.clients.max_connections),
        max_connections_per_client: withDefault(int({ min: 0, max: 10_000_000, fix: 'a whole number of connections, or 0 for no cap per client' }), D.proxy.clients.max_connections_per_client),
        listen_backlog: withDefault(int({ min: 1, max: 65_535 }), D.proxy.clients.listen_backlog),
      }),
      admin_remote: withDefault(bool(), D.proxy.admin_remote),
      admin_host: withDefault(str({ nonEmpty: true, fix: 'an address to listen on, e.g. 127.0.0.1' }), D.proxy.admin_host),
      admin_port: withDefault(int({ min: 0, max: 65535 }), D.proxy.admin_port),
      // this proxy's name on its hops (default: the host name and process id; in Kubernetes, the pod's name)
      name: optional(str({ nonEmpty: true, fix: 'a name for this proxy, e.g. the pod name ($HOSTNAME)' })),
    }),
    upstreams: list(upstream(adapters), { min: 1, fix: 'list the services the proxy fronts under upstreams:, each with name, component, adapter, target and prefix or port' }),
    store: storeSchema(),
    load: loadSchema(),
    resources: resourcesSchema(),
    alerts: alertsSchema(),
    telemetry: telemetrySchema(),
  })
}

/** The `load:` section: what simulated callers do (hopwatch run, load, demo). */
export function loadSchema() {
  const L = D.load
  const positive = (fallback: number, max = 1_000_000) => withDefault(num({ min: 0.001, max }), fallback)
  return obj({
    architecture: withDefault(oneOf(['cascaded', 's2s', 'multi-model'] as const), L.architecture),
    model: withDefault(oneOf(['closed', 'open'] as const), L.model),
    profile: withDefault(oneOf(['ramp', 'stress', 'spike', 'soak', 'stages'] as const), L.profile),
    start: positive(L.start),
    factor: withDefault(num({ min: 1.01, max: 10, fix: 'a growth factor per step above 1, e.g. 1.25' }), L.factor),
    step_s: positive(L.step_s, 1e7),
    max: positive(L.max),
    peak: positive(L.peak),
    level: positive(L.level),
    duration_s: positive(L.duration_s, 1e8),
    stages: withDefault(list(obj({ target: num({ min: 0, max: 1_000_000 }), duration_s: num({ min: 0.001, max: 1e8 }) }), { min: 0, fix: 'list stages as - { target: 20, duration_s: 300 }' }), []),
    time_scale: withDefault(num({ min: 0.001, max: 10_000, fix: 'a factor that divides every duration, e.g. 60 to run a 5-minute step in 5 s' }), L.time_scale),
    scenarios: withDefault(list(str({ nonEmpty: true, fix: 'a built-in scenario (booking, support, faq) or a YAML file' }), { min: 1, fix: 'list scenarios: built-in names or YAML files' }), [...L.scenarios]),
    seed: withDefault(int({ min: 0, max: 2 ** 31 - 1 }), L.seed),
    stop_on_breach: withDefault(bool(), L.stop_on_breach),
    min_turns_per_step: withDefault(int({ min: 0, max: 1_000_000 }), L.min_turns_per_step),
    slo: obj({
      response_p95_ms: withDefault(num({ min: 1, max: 600_000 }), L.slo.response_p95_ms),
      success_min: withDefault(num({ min: 0, max: 1 }), L.slo.success_min),
    }),
    max_concurrency: withDefault(int({ min: 1, max: 10_000_000 }), L.max_concurrency),
    connections_per_upstream: withDefault(int({ min: 1, max: 100_000 }), L.connections_per_upstream),
    models: obj({
      llm: withDefault(str({ nonEmpty: true, fix: 'a model name' }), L.models.llm),
      tts: withDefault(str({ nonEmpty: true, fix: 'a model name' }), L.models.tts),
      voice: withDefault(str({ nonEmpty: true, fix: 'a voice name or id' }), L.models.voice),
      stt: withDefault(str({ nonEmpty: true, fix: 'a model name' }), L.models.stt),
      s2s: withDefault(str({ nonEmpty: true, fix: 'a model name' }), L.models.s2s),
    }),
  })
}

export type HopwatchConfig = ReturnType<ReturnType<typeof configSchema>>
export type UpstreamConfig = HopwatchConfig['upstreams'][number]
export type StoreConfig = HopwatchConfig['store']
export type LoadConfig = HopwatchConfig['load']
export type { AlertsConfig, ResourcesConfig, ResourceTargetConfig } from './watch-schema.js'

/** Paths the proxy answers itself; no upstream prefix may shadow them. */
export const RESERVED_PATHS = ['/healthz', '/metrics', '/_hopwatch', '/v1/traces'] as const

/** Checks that span several fields: prefix xor port, unique names, ports and prefixes. */
export function checkUpstreams(config: HopwatchConfig, ctx: Context): void {
  const names = new Map<string, number>()
  const ports = new Map<number, string>([[config.proxy.port, 'proxy.port']])
  const prefixes = new Map<string, number>()
  config.upstreams.forEach((u, i) => {
    const at = `upstreams[${i}]`
    const seen = names.get(u.name)
    if (seen !== undefined) ctx.problems.push({ path: `${at}.name`, value: u.name, message: `is already the name of upstreams[${seen}]`, fix: 'give each upstream its own name' })
    names.set(u.name, i)
    if ((u.prefix === undefined) === (u.port === undefined)) {
      ctx.problems.push({
        path: at,
        value: { prefix: u.prefix, port: u.port },
        message: 'needs exactly one of prefix or port',
        fix: 'set prefix: /name to reach it on the proxy port, or port: N to give it a port of its own',
      })
    }
    if (u.port !== undefined && u.port !== 0) {
      const other = ports.get(u.port)
      if (other !== undefined) ctx.problems.push({ path: `${at}.port`, value: u.port, message: `is already used by ${other}`, fix: 'give each upstream its own port' })
      ports.set(u.port, at)
    }
    if (u.prefix !== undefined) {
      if (RESERVED_PATHS.some((r) => u.prefix === r || u.prefix?.startsWith(`${r}/`) === true || r.startsWith(`${u.prefix}/`))) {
        ctx.problems.push({ path: `${at}.prefix`, value: u.prefix, message: `collides with the proxy's own paths (${RESERVED_PATHS.join(', ')})`, fix: 'choose another prefix, e.g. /llm' })
      }
      const other = prefixes.get(u.prefix)
      if (other !== undefined) ctx.problems.push({ path: `${at}.prefix`, value: u.prefix, message: `is already the prefix of upstreams[${other}]`, fix: 'give each upstream its own prefix' })
      prefixes.set(u.prefix, i)
    }
  })
}

export type { Validator }
