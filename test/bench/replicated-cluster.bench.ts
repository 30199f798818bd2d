/**
 * Sharding and replication together (issue 19): a ClickHouse cluster of two shards of two replicas (four Debian 18.16
 * servers and Debian's ZooKeeper), the store made on it ON CLUSTER, one seeded run with a planted LLM written
 * through one node, and its analysis compared with the same run on one server; then one replica of each shard is
 * killed and the run analysed again through the survivors. `node dist/test/bench/replicated-cluster.bench.js`.
 */
import { analyzeStoredRun, type Analysis } from '../../src/analyze/index.js'
import { openStore, queryJsonLines, type Store, type StoreTarget } from '../../src/store/index.js'
import { ClickHouseServer } from '../support/clickhouse-server.js'
import { plantedLlmRamp, storeSeededRun } from '../support/seeded-runs.js'
import { ZooKeeperServer } from '../support/zookeeper.js'

const RUN = plantedLlmRamp('two-by-two')
const target = (url: string, cluster?: string): StoreTarget => ({ kind: 'server', url, user: 'default', password: '', ...(cluster !== undefined ? { cluster: { name: cluster, nodes: [url], replicated: true } } : {}) })
const analyse = async (store: Store) => (await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', RUN.runId)) as Analysis
const rounded = (x: Analysis) => JSON.stringify(JSON.parse(JSON.stringify(x), (_, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v)))
const count = async (server: ClickHouseServer) => {
  await fetch(`${server.url}/`, { method: 'POST', body: 'SYSTEM SYNC REPLICA hopwatch.hops_local' })
  return (await (await fetch(`${server.url}/`, { method: 'POST', body: `SELECT count() FROM hopwatch.hops_local WHERE run_id = '${RUN.runId}'` })).text()).trim()
}

const zk = await ZooKeeperServer.start()
const nodes = await ClickHouseServer.replicated(2, 2, 'hw_2x2', zk.port)
const single = await ClickHouseServer.create()
try {
  const onCluster = await openStore(target(nodes[0]!.url, 'hw_2x2'), 'hopwatch')
  const onOne = await openStore(target(single.url), 'hopwatch')
  await storeSeededRun(onCluster, RUN)
  await storeSeededRun(onOne, RUN)
  console.log(`hops_local per node (shard 1: nodes 1-2, shard 2: nodes 3-4): ${(await Promise.all(nodes.map(count))).join(', ')}`)
  const one = await analyse(onOne)
  const cluster = await analyse(onCluster)
  console.log(`one node: ${one.verdict}`)
  console.log(`2 shards × 2 replicas: ${cluster.verdict}`)
  console.log(`the whole analysis equal to 12 digits: ${rounded(one) === rounded(cluster)}`)
  await onCluster.close()
  // one replica of each shard down: the survivors answer for their shards
  await nodes[0]!.kill()
  await nodes[3]!.kill()
  const survivors = await openStore(target(nodes[1]!.url, 'hw_2x2'), 'hopwatch')
  const degraded = await analyse(survivors)
  console.log(`with nodes 1 and 4 down, through node 2: ${degraded.verdict}`)
  console.log(`the whole analysis equal to 12 digits: ${rounded(one) === rounded(degraded)}`)
  await survivors.close()
  await onOne.close()
} finally {
  for (const n of [...nodes, single]) await n.destroy()
  await zk.destroy()
}
