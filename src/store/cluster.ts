/**
 * The store as a ClickHouse cluster: on every node, each table's rows live in `<table>_local` (MergeTree, as on one
 * node) and `<table>` is a Distributed table over the cluster's `<table>_local`s, sharded so that a conversation's
 * rows stay on one shard. Writers insert into the Distributed tables and wait until every shard has its rows
 * (`insert_distributed_sync`), so a shard that is down fails the insert and the rows are spilled, never queued
 * out of sight on the node that took them. The analyzer reads the Distributed tables with its one-node SQL:
 * `groupArray`, `uniqExact` and the other aggregates merge their shards' states exactly, so per-step type-7
 * percentiles are the same as on one node.
 *
 * Without replication the schema is created node by node (every node's HTTP URL in `store.clickhouse.nodes`), each
 * recording its own migrations: this needs no ZooKeeper. With `store.clickhouse.replicated` the local tables are
 * ReplicatedMergeTree (one ZooKeeper path per shard and table, `{shard}` and `{replica}` from each server's macros),
 * and every statement runs once, `ON CLUSTER`, through the node the store is opened on: ClickHouse runs a CREATE on
 * every node and an ALTER of a replicated table on one replica per shard. The migrations are then recorded in a
 * `schema_migrations` replicated to every node, so any node can tell what is applied while another is down.
 */
import { identifier } from './sql.js'
import { tableOf } from './schema.js'

export interface ClusterLayout {
  /** the cluster's name in the servers' `remote_servers` */
  name: string
  /** every node's HTTP URL: the schema is created on each (replicated: it runs ON CLUSTER through the first) */
  nodes: readonly string[]
  /** ReplicatedMergeTree local tables and ON CLUSTER DDL (the servers need ZooKeeper) */
  replicated?: boolean
}

/** Settings a writer into a cluster's Distributed tables uses: the insert returns once every shard has its rows. */
export const CLUSTER_INSERT_SETTINGS = { insert_distributed_sync: 1 } as const

/** How a table's rows are spread: a conversation's on one shard; a table without conversations by run. */
export function shardKey(table: string): string {
  return tableOf(table).columns.some(([name]) => name === 'conversation_id') ? 'cityHash64(run_id, conversation_id)' : 'cityHash64(run_id)'
}

const STATEMENT = /^(CREATE TABLE IF NOT EXISTS|ALTER TABLE) (\w+)\.(\w+)(\s[\s\S]*)$/

/**
 * A migration's statements as one node of the cluster runs them: each CREATE makes the local table and the
 * Distributed table over it; each ALTER changes both (the local table first).
 */
export function onClusterNode(statements: readonly string[], cluster: string): string[] {
  return statements.flatMap((statement) => {
    const m = STATEMENT.exec(statement)
    if (m === null) throw new Error(`a migration statement the cluster layout does not know: ${statement.slice(0, 80)}`)
    const [, verb, db, table, rest] = m as unknown as [string, string, string, string, string]
    const local = `${verb} ${db}.${table}_local${rest}`
    if (verb === 'ALTER TABLE') return [local, statement]
    return [local, distributedSql(db, table, rest, cluster)]
  })
}

/**
 * The Distributed table over `<table>_local`, from the local table's CREATE statement (or what follows its name): the
 * same columns, a MATERIALIZED one as an ALIAS (the local table computes it on insert, and 18.x refuses an insert that
 * carries it, Code 44, where a Distributed table would compute it).
 */
export function distributedSql(db: string, table: string, localCreate: string, cluster: string, onCluster = false): string {
  const open = localCreate.indexOf('(')
  const close = localCreate.lastIndexOf(') ENGINE =')
  if (open === -1 || close === -1) throw new Error(`no column list in the CREATE statement of ${db}.${table}_local`)
  const columns = localCreate.slice(open, close + 1).replace(/ MATERIALIZED /g, ' ALIAS ')
  return `CREATE TABLE IF NOT EXISTS ${db}.${table}${onCluster ? ` ON CLUSTER ${identifier(cluster)}` : ''} ${columns} ENGINE = Distributed(${identifier(cluster)}, ${db}, ${table}_local, ${shardKey(table)})`
}

/** The ZooKeeper path of a replicated table: one per shard (`{shard}`, a server macro), its replicas named `{replica}`. */
export function replicaPath(db: string, table: string): string {
  return `/clickhouse/tables/{shard}/${db}/${table}`
}

/**
 * A migration's statements as the cluster runs them once, through one node, when it is replicated: each CREATE makes
 * the ReplicatedMergeTree local table and the Distributed table over it on every node; each ALTER changes the local
 * table (ClickHouse runs it on one replica per shard). A Distributed table cannot be altered ON CLUSTER when the
 * shards are replicated (18.16: Code 371), so an ALTER of one is `rebuild`: made again over its local table.
 */
export function onReplicatedCluster(statements: readonly string[], cluster: string): Array<string | { rebuild: string }> {
  return onClusterNode(statements, cluster).map((statement) => {
    const [, verb, db, table, rest] = STATEMENT.exec(statement) as unknown as [string, string, string, string, string]
    if (verb === 'ALTER TABLE' && !table.endsWith('_local')) return { rebuild: table }
    const replicated = rest.replace(/ ENGINE = (\w*)MergeTree\(([^)]*)\)/, (_all, kind: string, args: string) =>
      ` ENGINE = Replicated${kind}MergeTree('${replicaPath(db, table)}', '{replica}'${args !== '' ? `, ${args}` : ''})`,
    )
    return `${verb} ${db}.${table} ON CLUSTER ${identifier(cluster)}${replicated}`
  })
}
