import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client'
import { StoreError } from './errors.js'
import { liveOwner, readOwner } from './owner.js'
import { CLUSTER_INSERT_SETTINGS, distributedSql, onClusterNode, onReplicatedCluster, type ClusterLayout } from './cluster.js'
import { capabilitiesOf, MIGRATIONS, type Capabilities } from './schema.js'
import { identifier, quoteString } from './sql.js'

export type StoreTarget =
  | { kind: 'embedded'; dir: string }
  /** `cluster`: the server is one node of a ClickHouse cluster, whose Distributed tables the store uses (store/cluster.ts) */
  | { kind: 'server'; url: string; user: string; password: string; cluster?: ClusterLayout }

/** Settings for every query: 64-bit integers as JSON numbers on every engine (18.x quotes them by default). */
export const QUERY_SETTINGS: ClickHouseSettings = { output_format_json_quote_64bit_integers: 0 }

/** An open store: one @clickhouse/client over the embedded engine or a server, with the schema in place. */
export interface Store {
  readonly client: ClickHouseClient
  readonly database: string
  readonly target: StoreTarget
  readonly version: string
  readonly capabilities: Capabilities
  close(): Promise<void>
}

/** Opens the store and applies pending migrations (idempotent). */
export async function openStore(target: StoreTarget, database: string): Promise<Store> {
  const client = await connect(target)
  let version: string
  try {
    version = await versionOf(client)
  } catch (err) {
    await client.close().catch(() => {})
    throw await openError(target, err)
  }
  const capabilities = capabilitiesOf(version)
  try {
    if (target.kind === 'server' && target.cluster?.replicated === true) await migrate(client, database, capabilities, target.cluster)
    else if (target.kind === 'server' && target.cluster !== undefined) await migrateNodes(target, target.cluster, database)
    else await migrate(client, database, capabilities)
  } catch (err) {
    await client.close().catch(() => {})
    throw err
  }
  return { client, database, target, version, capabilities, close: () => client.close() }
}

/** Every node of a cluster gets its local tables and the Distributed tables over them, and records its own migrations. */
async function migrateNodes(target: { user: string; password: string }, cluster: ClusterLayout, database: string): Promise<void> {
  for (const url of cluster.nodes) {
    const node: StoreTarget = { kind: 'server', url, user: target.user, password: target.password }
    const nodeClient = await connect(node)
    try {
      const version = await versionOf(nodeClient).catch(async (err: unknown) => {
        throw await openError(node, err)
      })
      await migrate(nodeClient, database, capabilitiesOf(version), cluster)
    } finally {
      await nodeClient.close()
    }
  }
}

async function versionOf(client: ClickHouseClient): Promise<string> {
  const rs = await client.query({ query: 'SELECT version() AS version', format: 'JSONEachRow' })
  return ((await rs.json()) as Array<{ version: string }>)[0]?.version ?? '0'
}

async function connect(target: StoreTarget): Promise<ClickHouseClient> {
  if (target.kind === 'server') {
    return createClient({
      url: target.url,
      username: target.user,
      password: target.password,
      request_timeout: 30_000,
      clickhouse_settings: target.cluster !== undefined ? { ...QUERY_SETTINGS, ...CLUSTER_INSERT_SETTINGS } : QUERY_SETTINGS,
      // failures surface as errors the writer counts and reports; the client's own console logging would be noise
      log: { level: ClickHouseLogLevel.OFF },
    })
  }
  const dir = resolve(target.dir)
  // a running hopwatch process that owns the directory is told apart before the engine tries (and prints its own
  // "Cannot lock file" line); the process itself may open a second connection to its own store
  const owner = await liveOwner(dir, 2000)
  if (owner !== undefined && owner.pid !== process.pid) {
    throw new StoreError('HW_STORE_LOCKED', `the store ${target.dir} is owned by hopwatch process ${owner.pid} (admin API ${owner.admin_url}): hopwatch sql, analyze and load go through it by themselves; for anything else stop that process, use another --store DIR, or a ClickHouse server (--clickhouse-url) that both share`)
  }
  try {
    await mkdir(dir, { recursive: true })
    // the embedded engine (a native library of some 500 MB) is loaded only when it is used: a proxy on a ClickHouse
    // server never maps it. chdb types its connection against its own copy of @clickhouse/client-common; the shapes
    // are the same contract
    const { createChdbConnection } = await import('chdb/connection')
    const connection = createChdbConnection({ path: dir }) as never
    return createClient({ connection, clickhouse_settings: QUERY_SETTINGS, log: { level: ClickHouseLogLevel.OFF } })
  } catch (err) {
    throw await openError(target, err)
  }
}

async function openError(target: StoreTarget, err: unknown): Promise<StoreError> {
  const reason = (err as Error).message ?? String(err)
  if (target.kind === 'embedded') {
    // the engine locks its directory (its `status` file); a hopwatch process that owns it says so in its owner file
    const owner = await readOwner(target.dir)
    if (owner !== undefined) {
      return new StoreError('HW_STORE_LOCKED', `the store ${target.dir} is owned by hopwatch process ${owner.pid} (admin API ${owner.admin_url}), which did not answer; stop that process (or wait for it to start answering), use another --store DIR, or a ClickHouse server (--clickhouse-url) that both share`, { cause: err })
    }
    if (/lock|already running|Failed to create connection/i.test(reason)) {
      return new StoreError('HW_STORE_LOCKED', `the store ${target.dir} is in use by another process (${reason}); stop it, use another --store DIR, or a ClickHouse server (--clickhouse-url) that both share`, { cause: err })
    }
    return new StoreError('HW_STORE_OPEN', `cannot open the embedded store at ${target.dir}: ${reason}`, { cause: err })
  }
  return new StoreError('HW_STORE_OPEN', `cannot reach ClickHouse at ${target.url}: ${reason}. Check the URL, user and password.`, { cause: err })
}

async function migrate(client: ClickHouseClient, database: string, caps: Capabilities, cluster?: ClusterLayout): Promise<void> {
  const db = identifier(database)
  const replicated = cluster?.replicated === true
  // replicated: every statement once, ON CLUSTER; the migrations' record is replicated to every node of the cluster
  const onCluster = replicated ? ` ON CLUSTER ${identifier(cluster.name)}` : ''
  const recordEngine = replicated ? `ReplicatedMergeTree('/clickhouse/tables/all/${db}/schema_migrations', '{replica}')` : 'MergeTree()'
  const appliedVersions = async () => {
    const rs = await client.query({ query: `SELECT DISTINCT version FROM ${db}.schema_migrations`, format: 'JSONEachRow' })
    return new Set(((await rs.json()) as Array<{ version: number }>).map((r) => Number(r.version)))
  }
  try {
    // nothing to do, nothing run: a store opened on one node while another is down needs no DDL (ON CLUSTER would
    // wait for the node that is down)
    const known = await appliedVersions().catch(() => new Set<number>())
    if (MIGRATIONS.every((m) => known.has(m.version))) return
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}${onCluster}` })
    await client.command({
      query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations${onCluster} (version UInt32, description String, applied_us Int64) ENGINE = ${recordEngine} ORDER BY version`,
    })
    const applied = await appliedVersions()
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue
      const statements = migration.statements(db, caps)
      const run = cluster === undefined ? statements : replicated ? onReplicatedCluster(statements, cluster.name) : onClusterNode(statements, cluster.name)
      const rebuild = new Set<string>()
      for (const statement of run) {
        if (typeof statement !== 'string') {
          rebuild.add(statement.rebuild)
          continue
        }
        // an ALTER of a replicated table waits for every replica: one created a moment ago is not active yet
        if (replicated && statement.startsWith('ALTER TABLE')) await replicasActive(client, db)
        await client.command({ query: statement }).catch((err: Error) => {
          // a migration that stopped part-way is run again whole: a column it already added is not an error
          if (!(statement.includes(' ADD COLUMN ') && /already exists/i.test(err.message))) throw err
        })
      }
      // Distributed tables over altered replicated ones are made again with the local tables' new columns
      for (const table of rebuild) await rebuildDistributed(client, db, table, cluster?.name ?? '')
      await client.command({
        query: `INSERT INTO ${db}.schema_migrations (version, description, applied_us) VALUES (${migration.version}, ${quoteString(migration.description)}, ${Date.now() * 1000})`,
      })
    }
  } catch (err) {
    throw new StoreError('HW_STORE_MIGRATE', `creating the schema in database ${database} failed: ${(err as Error).message}`, { cause: err })
  }
}

/** Drops the Distributed table over `<table>_local` on every node and makes it again from the local table's columns. */
async function rebuildDistributed(client: ClickHouseClient, db: string, table: string, cluster: string): Promise<void> {
  const rs = await client.query({ query: `SHOW CREATE TABLE ${db}.${identifier(table)}_local`, format: 'JSONEachRow' })
  const [shown] = (await rs.json()) as Array<{ statement: string }>
  if (shown === undefined) throw new Error(`SHOW CREATE TABLE ${db}.${table}_local returned nothing`)
  await client.command({ query: `DROP TABLE IF EXISTS ${db}.${identifier(table)} ON CLUSTER ${identifier(cluster)}` })
  await client.command({ query: distributedSql(db, table, shown.statement, cluster, true) })
}

/** Waits (30 s at most) until every replicated table of the database sees all its replicas active. */
async function replicasActive(client: ClickHouseClient, db: string): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const rs = await client.query({ query: `SELECT table, active_replicas, total_replicas FROM system.replicas WHERE database = ${quoteString(db)} AND active_replicas < total_replicas`, format: 'JSONEachRow' })
    const waiting = (await rs.json()) as Array<{ table: string; active_replicas: number; total_replicas: number }>
    if (waiting.length === 0) return
    if (Date.now() > deadline) throw new Error(`replicas of ${waiting.map((w) => `${w.table} (${w.active_replicas} of ${w.total_replicas} active)`).join(', ')} did not become active within 30 s: is every node up and reaching ZooKeeper?`)
    await new Promise((r) => setTimeout(r, 200))
  }
}
