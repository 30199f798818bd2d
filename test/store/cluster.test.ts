import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { analyzeStoredRun, type Analysis } from '../../src/analyze/index.js'
import { onClusterNode, shardKey } from '../../src/store/cluster.js'
import { openStore, queryJsonLines, type Store } from '../../src/store/index.js'
import { ClickHouseServer } from '../support/clickhouse-server.js'
import { plantedLlmRamp, storeSeededRun } from '../support/seeded-runs.js'

test('on a cluster node, a CREATE makes the local table and a Distributed one over it (computed columns as ALIAS), sharded by conversation', () => {
  const create = 'CREATE TABLE IF NOT EXISTS hopwatch.hops (\n  run_id String,\n  date Date MATERIALIZED toDate(1)\n) ENGINE = MergeTree() ORDER BY run_id'
  const [local, distributed] = onClusterNode([create], 'c2')
  assert.equal(local, 'CREATE TABLE IF NOT EXISTS hopwatch.hops_local (\n  run_id String,\n  date Date MATERIALIZED toDate(1)\n) ENGINE = MergeTree() ORDER BY run_id')
  assert.equal(distributed, 'CREATE TABLE IF NOT EXISTS hopwatch.hops (\n  run_id String,\n  date Date ALIAS toDate(1)\n) ENGINE = Distributed(c2, hopwatch, hops_local, cityHash64(run_id, conversation_id))')
  assert.deepEqual(onClusterNode(['ALTER TABLE hopwatch.steps ADD COLUMN x UInt8'], 'c2'), ['ALTER TABLE hopwatch.steps_local ADD COLUMN x UInt8', 'ALTER TABLE hopwatch.steps ADD COLUMN x UInt8'])
  assert.equal(shardKey('steps'), 'cityHash64(run_id)')
})

const RUN = plantedLlmRamp('cluster-llm')

describe("the store on a two-shard cluster of Debian's ClickHouse 18.16", () => {
  let shards: ClickHouseServer[]
  let single: ClickHouseServer
  let onCluster: Store
  let onOne: Store
  before(async () => {
    shards = await ClickHouseServer.cluster(2, 'hw_two_shards')
    single = await ClickHouseServer.create()
    const nodes = shards.map((s) => s.url)
    onCluster = await openStore({ kind: 'server', url: nodes[0] as string, user: 'default', password: '', cluster: { name: 'hw_two_shards', nodes } }, 'hopwatch')
    onOne = await openStore({ kind: 'server', url: single.url, user: 'default', password: '' }, 'hopwatch')
    await storeSeededRun(onCluster, RUN)
    await storeSeededRun(onOne, RUN)
  })
  after(async () => {
    await onCluster?.close()
    await onOne?.close()
    for (const s of [...(shards ?? []), single]) await s?.destroy()
  })

  const read = async (store: Store, sql: string) => {
    const out: Array<Record<string, unknown>> = []
    for await (const line of queryJsonLines(store, sql)) out.push(JSON.parse(line) as Record<string, unknown>)
    return out
  }

  /** A statement on one node over HTTP, its rows as objects. */
  const at = async (server: ClickHouseServer, sql: string) => {
    const res = await fetch(`${server.url}/?output_format_json_quote_64bit_integers=0`, { method: 'POST', body: `${sql} FORMAT JSONEachRow` })
    const text = await res.text()
    assert.ok(res.ok, text)
    return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
  }

  test('every node has the local tables and the Distributed ones, and the rows are spread over both shards, a conversation on one', async () => {
    const [total] = await read(onOne, "SELECT count() AS n FROM hopwatch.hops WHERE run_id = 'cluster-llm'")
    const conversations: Array<Set<unknown>> = []
    for (const [i, shard] of shards.entries()) {
      const engines = await at(shard, "SELECT name, engine FROM system.tables WHERE database = 'hopwatch' AND name IN ('hops', 'hops_local') ORDER BY name")
      assert.deepEqual(engines, [{ name: 'hops', engine: 'Distributed' }, { name: 'hops_local', engine: 'MergeTree' }], `node ${i}`)
      const [local] = await at(shard, "SELECT count() AS n FROM hopwatch.hops_local WHERE run_id = 'cluster-llm'")
      assert.ok((local?.n as number) > 0 && (local?.n as number) < (total?.n as number), `node ${i} holds a share: ${JSON.stringify(local)} of ${JSON.stringify(total)}`)
      conversations.push(new Set((await at(shard, "SELECT DISTINCT conversation_id FROM hopwatch.hops_local WHERE run_id = 'cluster-llm'")).map((r) => r.conversation_id)))
    }
    const both = [...(conversations[0] ?? [])].filter((c) => conversations[1]?.has(c))
    assert.deepEqual(both, [], 'no conversation is split across shards')
    const [all] = await read(onCluster, "SELECT count() AS n FROM hopwatch.hops WHERE run_id = 'cluster-llm'")
    assert.deepEqual(all, total, 'the Distributed table reads every row once')
  })

  test('the same recorded run analysed on one node and on the cluster: the same verdict and the same percentiles', async () => {
    const a = (await analyzeStoredRun((sql) => queryJsonLines(onOne, sql), 'hopwatch', RUN.runId)) as Analysis
    const b = (await analyzeStoredRun((sql) => queryJsonLines(onCluster, sql), 'hopwatch', RUN.runId)) as Analysis
    assert.equal(a.first_degraded?.component, 'llm', a.verdict)
    assert.equal(b.verdict, a.verdict)
    // everything: per-step percentiles, degradation points and their bootstrap intervals (the same samples), breaches,
    // capacity, resources; to 12 significant digits, as a mean's sum is added in another order across shards (WER)
    const rounded = (x: Analysis) => JSON.parse(JSON.stringify(x), (_, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v)) as unknown
    assert.deepEqual(rounded(b), rounded(a))
  })
})
