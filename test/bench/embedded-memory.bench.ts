/**
 * Whether the embedded engine's memory levels off as its data grows (issue 14: the soak's RSS rose while recording
 * into chDB, and was flat into a ClickHouse server). Inserts BENCH_ROWS hops (default 1,000,000) into a fresh embedded
 * store in 1,000-row batches, as the batch writer does, and prints the process RSS beside ClickHouse's own tracked
 * memory (system.metrics MemoryTracking) and the active parts every 100,000 rows. `node dist/test/bench/embedded-memory.bench.js`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { table } from '../../src/cli/output.js'
import { openStore, queryJsonLines } from '../../src/store/index.js'
import { hopRow } from '../support/rows.js'

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000)
const EVERY = 100_000
const dir = await mkdtemp(join(tmpdir(), 'hopwatch-embedded-memory-'))
const store = await openStore({ kind: 'embedded', dir }, 'hopwatch')
const one = async (sql: string): Promise<Record<string, number>> => {
  for await (const line of queryJsonLines(store, sql)) return JSON.parse(line) as Record<string, number>
  return {}
}
const mb = (bytes: number) => (bytes / 1e6).toFixed(0)
const sample = async (rows: number): Promise<string[]> => {
  const tracked = await one("SELECT value FROM system.metrics WHERE metric = 'MemoryTracking'")
  const parts = await one("SELECT count() AS parts FROM system.parts WHERE active AND database = 'hopwatch'")
  return [String(rows), mb(process.memoryUsage().rss), mb(tracked.value ?? 0), mb(process.memoryUsage().heapUsed), String(parts.parts ?? 0)]
}
const out = [await sample(0)]
for (let n = 0; n < ROWS; ) {
  const batch = Array.from({ length: 1000 }, () => hopRow(n++, { run_id: 'memory' }))
  await store.client.insert({ table: 'hopwatch.hops', values: batch, format: 'JSONEachRow' })
  if (n % EVERY === 0) {
    await new Promise((r) => setTimeout(r, 1000)) // a moment for merges
    out.push(await sample(n))
  }
}
await store.close()
await rm(dir, { recursive: true, force: true })
console.log(`${ROWS.toLocaleString('en')} hops into a fresh embedded store, 1,000 a batch`)
console.log(table(['rows', 'process RSS MB', 'ClickHouse tracked MB', 'JS heap MB', 'active parts'], out))
