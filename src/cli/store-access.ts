import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseYaml, readConfigText, validateStoreConfig, type Overrides, type StoreConfig } from '../config/index.js'
import { liveOwner, openStore, queryJsonLines, type QueryLines, type StoreTarget } from '../store/index.js'
import { adminQuery } from './admin-client.js'
import { stringFlag } from './args.js'

/** The flags every command that touches the store takes. */
export const STORE_FLAGS = {
  store: { type: 'string' },
  'clickhouse-url': { type: 'string' },
  'clickhouse-user': { type: 'string' },
  'clickhouse-password': { type: 'string' },
  'clickhouse-database': { type: 'string' },
  'clickhouse-cluster': { type: 'string' },
  'clickhouse-nodes': { type: 'string' },
  'clickhouse-replicated': { type: 'boolean' },
} as const

export const STORE_FLAGS_HELP = `Store:
  --store DIR                  embedded ClickHouse directory (default ./.hopwatch)
  --clickhouse-url URL         use a ClickHouse server instead, e.g. http://127.0.0.1:8123
  --clickhouse-user NAME       (default "default")
  --clickhouse-password PASS   or set HOPWATCH_CLICKHOUSE_PASSWORD
  --clickhouse-database NAME   (default "hopwatch")
  --clickhouse-cluster NAME    the server is a node of this cluster: hopwatch writes and reads Distributed tables
  --clickhouse-nodes URL,URL   every node's HTTP URL, where hopwatch creates its tables (with --clickhouse-cluster)
  --clickhouse-replicated      the cluster has ZooKeeper: ReplicatedMergeTree tables, created ON CLUSTER (no --clickhouse-nodes needed)`

/** Store flags as config overrides (flags win over the file). */
export function storeOverrides(values: Record<string, string | boolean | undefined>): Overrides {
  return {
    'store.dir': stringFlag(values.store),
    'store.clickhouse.url': stringFlag(values['clickhouse-url']),
    'store.clickhouse.user': stringFlag(values['clickhouse-user']),
    'store.clickhouse.password': stringFlag(values['clickhouse-password']),
    'store.database': stringFlag(values['clickhouse-database']),
    'store.clickhouse.cluster': stringFlag(values['clickhouse-cluster']),
    'store.clickhouse.nodes': stringFlag(values['clickhouse-nodes'])?.split(',').map((u) => u.trim()).filter((u) => u !== ''),
    'store.clickhouse.replicated': values['clickhouse-replicated'] === true ? true : undefined,
  }
}

/** The store section from --config (or ./hopwatch.yaml when present) with flags applied. */
export async function loadStoreConfig(values: Record<string, string | boolean | undefined>): Promise<StoreConfig> {
  const path = stringFlag(values.config) ?? (existsSync('hopwatch.yaml') ? 'hopwatch.yaml' : undefined)
  const raw = path === undefined ? {} : parseYaml(await readConfigText(path), path)
  return validateStoreConfig(raw, path ?? 'the command line', { overrides: storeOverrides(values) })
}

export function storeTarget(store: StoreConfig): StoreTarget {
  const c = store.clickhouse
  if (c !== undefined) {
    const cluster = c.cluster !== undefined && (c.nodes !== undefined || c.replicated) ? { cluster: { name: c.cluster, nodes: c.nodes ?? [c.url], replicated: c.replicated } } : {}
    return { kind: 'server', url: c.url, user: c.user, password: c.password, ...cluster }
  }
  return { kind: 'embedded', dir: resolve(store.dir) }
}

/** Where rows wait when the store cannot take them: beside the embedded data, or ./.hopwatch-spill for a server. */
export function spillDir(store: StoreConfig): string {
  if (store.spill_dir !== undefined) return resolve(store.spill_dir)
  return store.clickhouse !== undefined ? resolve('.hopwatch-spill') : join(resolve(store.dir), 'spill')
}

export function describeTarget(target: StoreTarget): string {
  return target.kind === 'embedded' ? `embedded ClickHouse at ${target.dir}` : `ClickHouse server ${target.url}`
}

/**
 * Rows from the store for read-only commands: through the admin API of the process that owns the embedded store,
 * or the store opened directly (a server, or an embedded directory nobody holds).
 */
export async function storeQuery(values: Record<string, string | boolean | undefined>): Promise<{ query: QueryLines; database: string; config: StoreConfig; close(): Promise<void> }> {
  const config = await loadStoreConfig(values)
  const target = storeTarget(config)
  if (target.kind === 'embedded') {
    const owner = await liveOwner(target.dir)
    if (owner !== undefined) return { query: adminQuery(owner), database: config.database, config, close: async () => {} }
  }
  const store = await openStore(target, config.database)
  return { query: (sql) => queryJsonLines(store, sql), database: config.database, config, close: () => store.close() }
}
