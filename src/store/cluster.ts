/**
 * The store as a ClickHouse cluster: on every node, each table's rows live in `<table>_local` (MergeTree, as on one
 * node) and `<table>` is a Distributed table over the cluster's `<table>_local`s, sharded so that a conversation's
 * rows stay on one shard. Writers insert into the Distributed tables and wait until every shard has its rows
 * (`insert_distributed_sync`), so a shard that is down fails the insert and the rows are spilled, never queued
 * out of sight on the node that took them. The analyzer reads the Distributed tables with its one-node SQL:
 * `groupArray`, `uniqExact` and the other aggregates merge their shards' states exactly, so per-step type-7
 * percentiles are the same as on one node.
 *
 * The schema is created node by node (every node's HTTP URL in `store.cluster_nodes`), each recording its own
 * migrations: this needs no ZooKeeper. `ON CLUSTER` DDL and ReplicatedMergeTree (which need ZooKeeper or Keeper)
 * are not supported yet.
 */
import { identifier } from './sql.js'
import { tableOf } from './schema.js'

export interface ClusterLayout {
  /** the cluster's name in the servers' `remote_servers` */
  name: string
  /** every node's HTTP URL: the schema is created on each */
  nodes: readonly string[]
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
    // the Distributed table's columns are the local table's, a MATERIALIZED one as an ALIAS: the local table computes
    // it on insert, and 18.x refuses an insert that carries it (Code 44) where a Distributed table would compute it
    const columns = rest.slice(0, rest.lastIndexOf(') ENGINE =') + 1).replace(/ MATERIALIZED /g, ' ALIAS ')
    return [local, `CREATE TABLE IF NOT EXISTS ${db}.${table}${columns} ENGINE = Distributed(${identifier(cluster)}, ${db}, ${table}_local, ${shardKey(table)})`]
  })
}
