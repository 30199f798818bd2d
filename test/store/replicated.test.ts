import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { analyzeStoredRun, type Analysis } from '../../src/analyze/index.js'
import { onReplicatedCluster } from '../../src/store/cluster.js'
import { ClickHouseSink, openStore, queryJsonLines, type Store, type StoreTarget } from '../../src/store/index.js'
import { ClickHouseServer } from '../support/clickhouse-server.js'
import { hopRow } from '../support/rows.js'
import { AMPLE_SERVICES, storeSeededRun, type SeededRun } from '../support/seeded-runs.js'
import { ZooKeeperServer } from '../support/zookeeper.js'

test('on a replicated cluster, each statement runs once ON CLUSTER: local tables are Replicated*MergeTree with a ZooKeeper path per shard, Distributed ones are made again rather than altered', () => {
  const create = 'CREATE TABLE IF NOT EXISTS hopwatch.runs (\n  run_id String,\n  updated_us Int64\n) ENGINE = ReplacingMergeTree(updated_us) PARTITION BY toYYYYMM(date) ORDER BY run_id'
  assert.deepEqual(onReplicatedCluster([create, 'ALTER TABLE hopwatch.runs ADD COLUMN x UInt8'], 'hw'), [
    "CREATE TABLE IF NOT EXISTS hopwatch.runs_local ON CLUSTER hw (\n  run_id String,\n  updated_us Int64\n) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/hopwatch/runs_local', '{replica}', updated_us) PARTITION BY toYYYYMM(date) ORDER BY run_id",
    'CREATE TABLE IF NOT EXISTS hopwatch.runs ON CLUSTER hw (\n  run_id String,\n  updated_us Int64\n) ENGINE = Distributed(hw, hopwatch, runs_local, cityHash64(run_id))',
    'ALTER TABLE hopwatch.runs_local ON CLUSTER hw ADD COLUMN x UInt8',
    // a Distributed table cannot be altered ON CLUSTER over replicated shards (18.16, Code 371): it is made again
    { rebuild: 'runs' },
  ])
  assert.match(onReplicatedCluster(['CREATE TABLE IF NOT EXISTS h.hops (\n  a String\n) ENGINE = MergeTree() ORDER BY a'], 'hw')[0] as string, /ENGINE = ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/h\/hops_local', '\{replica\}'\) ORDER BY a$/)
})

const RUN: SeededRun = {
  runId: 'replicated',
  seed: 5,
  steps: [6, 9, 13].map((load) => ({ load, phase: 'ramp', seconds: 60 })),
  services: AMPLE_SERVICES,
  toolShare: 0.3,
}

describe("the store on a replicated ClickHouse cluster: two replicas of one shard (Debian's 18.16) and Debian's ZooKeeper 3.8", () => {
  let zk: ZooKeeperServer
  let replicas: ClickHouseServer[]
  let store: Store
  const target = (url: string): StoreTarget => ({ kind: 'server', url, user: 'default', password: '', cluster: { name: 'hw_repl', nodes: [url], replicated: true } })
  before(async () => {
    zk = await ZooKeeperServer.start()
    replicas = await ClickHouseServer.replicated(1, 2, 'hw_repl', zk.port)
    store = await openStore(target(replicas[0]?.url ?? ''), 'hopwatch')
  })
  after(async () => {
    await store?.close()
    for (const r of replicas ?? []) await r.destroy()
    await zk?.destroy()
  })

  /** A statement on one node over HTTP, its rows as objects. */
  const at = async (server: ClickHouseServer, sql: string) => {
    const res = await fetch(`${server.url}/?output_format_json_quote_64bit_integers=0`, { method: 'POST', body: `${sql} FORMAT JSONEachRow` })
    const text = await res.text()
    assert.ok(res.ok, text)
    return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
  }
  const sync = (server: ClickHouseServer, table: string) => fetch(`${server.url}/`, { method: 'POST', body: `SYSTEM SYNC REPLICA hopwatch.${table}` }).then(async (r) => assert.ok(r.ok, await r.text()))
  const localHops = async (server: ClickHouseServer, run: string) => {
    await sync(server, 'hops_local')
    return (await at(server, `SELECT count() AS n FROM hopwatch.hops_local WHERE run_id = '${run}'`))[0]?.n
  }

  test('the schema made through one node is on both: Replicated local tables with both replicas active, Distributed tables, and the migrations recorded on each', async () => {
    for (const [i, node] of (replicas ?? []).entries()) {
      const engines = await at(node, "SELECT name, engine FROM system.tables WHERE database = 'hopwatch' AND name IN ('hops', 'hops_local', 'runs_local') ORDER BY name")
      assert.deepEqual(engines, [{ name: 'hops', engine: 'Distributed' }, { name: 'hops_local', engine: 'ReplicatedMergeTree' }, { name: 'runs_local', engine: 'ReplicatedReplacingMergeTree' }], `node ${i}`)
      const [state] = await at(node, "SELECT min(total_replicas) AS total, min(active_replicas) AS active, count() AS tables FROM system.replicas WHERE database = 'hopwatch'")
      assert.deepEqual(state, { total: 2, active: 2, tables: 8 }, `node ${i}: seven tables and schema_migrations, two replicas each`)
      // the last migration's ALTER reached every replica's local table and Distributed table
      assert.equal((await at(node, "SELECT count() AS n FROM system.columns WHERE database = 'hopwatch' AND table IN ('hops', 'hops_local') AND name = 'proxy'"))[0]?.n, 2, `node ${i}`)
      await sync(node, 'schema_migrations')
      assert.equal((await at(node, 'SELECT max(version) AS v FROM hopwatch.schema_migrations'))[0]?.v, 7, `node ${i}`)
    }
    // opened again, nothing is applied twice
    const again = await openStore(target(replicas[1]?.url ?? ''), 'hopwatch')
    await again.close()
    assert.equal((await at(replicas[0] as ClickHouseServer, 'SELECT count() AS n FROM hopwatch.schema_migrations'))[0]?.n, 7)
  })

  test('rows written through one node are on both replicas; with a replica down writing and reading go on, and it catches up when back; a node opened while the other is down reads the same analysis', async () => {
    const [a, b] = replicas as [ClickHouseServer, ClickHouseServer]
    await storeSeededRun(store, RUN)
    const [{ n: total } = { n: 0 }] = await at(a, `SELECT count() AS n FROM hopwatch.hops WHERE run_id = '${RUN.runId}'`)
    assert.ok((total as number) > 100)
    assert.equal(await localHops(a, RUN.runId), total)
    assert.equal(await localHops(b, RUN.runId), total, 'the other replica has a copy of every row')
    const before = (await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', RUN.runId)) as Analysis

    await b.kill()
    const sink = new ClickHouseSink(store)
    await sink.insert('hops', Array.from({ length: 500 }, (_, i) => hopRow(i, { run_id: 'replica-down' })))
    assert.equal((await at(a, "SELECT count() AS n FROM hopwatch.hops WHERE run_id = 'replica-down'"))[0]?.n, 500, 'written and read with a replica down')
    await b.start()
    assert.equal(await localHops(b, 'replica-down'), 500, 'the replica that was down caught up')

    await a.kill()
    const throughB = await openStore(target(b.url), 'hopwatch')
    try {
      const after = (await analyzeStoredRun((sql) => queryJsonLines(throughB, sql), 'hopwatch', RUN.runId)) as Analysis
      assert.equal(after.verdict, before.verdict)
      assert.deepEqual(after.steps, before.steps)
    } finally {
      await throughB.close()
      await a.start()
    }
  })
})
