/**
 * npm run bench (last part): the store on a two-shard ClickHouse cluster (two Debian 18.16 servers on 127.0.0.1)
 * against one node of the same server, in the same run. Printed: rows/s of hop inserts in batches of the writer's
 * default size (into the Distributed table, insert_distributed_sync = 1, against one node's MergeTree), and the
 * time to analyse a synthetic run of BENCH_CLUSTER_HOPS hops (default 10 M) on each, with both verdicts. On one
 * machine the two shards share its cores, so this measures the cluster's overhead, not its scaling.
 */
import { analyzeStoredRun } from '../../src/analyze/index.js'
import { table } from '../../src/cli/output.js'
import { DEFAULTS } from '../../src/config/defaults.js'
import { openStore, queryJsonLines, type Store } from '../../src/store/index.js'
import { ClickHouseServer } from '../support/clickhouse-server.js'
import { hopRow } from '../support/rows.js'
import { plant } from './planted-run.js'

const HOPS = Number(process.env.BENCH_CLUSTER_HOPS ?? 10_000_000)
const INSERTED = Number(process.env.BENCH_CLUSTER_ROWS ?? 200_000)
const BATCH = DEFAULTS.store.batch_rows

async function insertRate(store: Store, runId: string): Promise<number> {
  const rows = Array.from({ length: BATCH }, (_, i) => hopRow(i, { run_id: runId, conversation_id: `c${i % 997}`, hop_id: `h${i}` }))
  const started = performance.now()
  for (let sent = 0; sent < INSERTED; sent += BATCH) {
    await store.client.insert({ table: 'hopwatch.hops', values: rows as unknown as Array<Record<string, unknown>>, format: 'JSONEachRow' })
  }
  return INSERTED / ((performance.now() - started) / 1000)
}

async function main(): Promise<void> {
  const shards = await ClickHouseServer.cluster(2, 'hw_bench')
  const single = await ClickHouseServer.create()
  const nodes = shards.map((s) => s.url)
  const stores = {
    'one node': await openStore({ kind: 'server', url: single.url, user: 'default', password: '' }, 'hopwatch'),
    'two shards': await openStore({ kind: 'server', url: nodes[0] as string, user: 'default', password: '', cluster: { name: 'hw_bench', nodes } }, 'hopwatch'),
  }
  const rows: string[][] = []
  const results: Record<string, { rate: number; seconds: number }> = {}
  try {
    for (const [name, store] of Object.entries(stores)) {
      const rate = await insertRate(store, 'bench-insert')
      const t0 = performance.now()
      await plant(store, 'bench-large', HOPS)
      const planted = (performance.now() - t0) / 1000
      const t1 = performance.now()
      const analysis = await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', 'bench-large')
      const seconds = (performance.now() - t1) / 1000
      results[name] = { rate, seconds }
      rows.push([name, `${Math.round(rate).toLocaleString('en')}`, `${planted.toFixed(1)} s`, `${seconds.toFixed(1)} s`, analysis?.verdict.slice(0, 90) ?? 'none'])
    }
  } finally {
    for (const s of Object.values(stores)) await s.close()
    for (const s of [...shards, single]) await s.destroy()
  }
  process.stdout.write(`\nThe store on a two-shard cluster against one node (ClickHouse 18.16, both on this machine; ${BATCH}-row inserts, ${HOPS.toLocaleString('en')} hops analysed):\n`)
  process.stdout.write(table(['store', 'hop rows/s inserted', 'generated in', 'analysed in', 'verdict'], rows))
  const one = results['one node']
  const two = results['two shards']
  if (one !== undefined && two !== undefined) process.stdout.write(`  two shards ÷ one node: ${(two.rate / one.rate).toFixed(2)}× the insert rate, ${(two.seconds / one.seconds).toFixed(2)}× the analysis time\n`)
}

await main()
