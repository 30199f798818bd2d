import assert from 'node:assert/strict'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { BatchWriter, ClickHouseSink, MemorySink, queryJsonLines, Spill, TABLES } from '../../src/store/index.js'
import { onEachEngine } from '../support/engines.js'
import { hopRow } from '../support/rows.js'

/** A store that takes a batch and then fails to say so (a timeout or a reset after the server committed it). */
class CommitThenFailSink extends MemorySink {
  /** inserts still to commit and then fail */
  failAfterCommit = 0

  override async insert(table: string, rows: readonly object[]): Promise<void> {
    await super.insert(table, rows)
    if (this.failAfterCommit > 0) {
      this.failAfterCommit--
      throw new Error('socket hang up (after the store committed the batch)')
    }
  }
}

async function spillIn(dir?: string): Promise<Spill> {
  const spill = new Spill(dir ?? (await mkdtemp(join(tmpdir(), 'hopwatch-spill-'))), 1e9)
  await spill.init()
  return spill
}

function hopIds(sink: MemorySink): string[] {
  return (sink.rows.get('hops') ?? []).map((row) => (row as { hop_id: string }).hop_id)
}

test('a batch the store committed before its insert failed is spilled and replayed without being stored twice', async () => {
  const sink = new CommitThenFailSink()
  const writer = new BatchWriter(sink, await spillIn(), { queueRows: 1000, batchRows: 10, flushMs: 10_000, retryMs: 0 })
  sink.failAfterCommit = 1
  for (let i = 0; i < 30; i++) writer.push('hops', hopRow(i))
  // the first batch lands and its insert fails: it is spilled; the next inserts succeed, and the spill is replayed
  await writer.flush()
  const ids = hopIds(sink)
  assert.equal(new Set(ids).size, 30)
  assert.equal(ids.length, 30, 'each row stored once')
  const counts = writer.stats().tables.hops!
  assert.equal(counts.spilled, 10)
  assert.equal(counts.found_stored, 10, 'the replay found the failed batch stored')
  assert.equal(counts.replayed, 10)
  assert.equal(counts.written, 30, 'written counts every row once, whichever insert stored it')
})

test('a replay that stopped between its insert and its offset write resumes without storing that batch twice', async () => {
  const sink = new CommitThenFailSink()
  sink.down = true
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-spill-'))
  const first = new BatchWriter(sink, await spillIn(dir), { queueRows: 1000, batchRows: 10, flushMs: 10_000, retryMs: 0 })
  for (let i = 0; i < 40; i++) first.push('hops', hopRow(i))
  await first.flush()
  assert.equal(first.stats().tables.hops?.spilled, 40)
  // the store is back; the replay's second batch lands and then the insert fails, as a process killed in that window
  sink.down = false
  let inserts = 0
  const insert = sink.insert.bind(sink)
  sink.insert = async (table, rows) => {
    await insert(table, rows)
    if (++inserts === 2) throw new Error('killed before the offset was written')
  }
  await first.flush()
  assert.equal(hopIds(sink).length, 20, 'two batches reached the store before the stop')
  sink.insert = insert
  // a new process on the same spill directory
  const second = new BatchWriter(sink, await spillIn(dir), { queueRows: 1000, batchRows: 10, flushMs: 10_000, retryMs: 0 })
  await second.flush()
  const ids = hopIds(sink)
  assert.equal(new Set(ids).size, 40, 'every row stored')
  assert.equal(ids.length, 40, 'none stored twice')
  assert.equal(second.stats().tables.hops?.found_stored, 10, 'the batch in flight at the stop was found stored')
  assert.equal(second.stats().tables.hops?.replayed, 30)
})

onEachEngine((engine) => `the store says which rows of a batch it already holds, on the ${engine}`, (on) => {
  test('for every table, by its key: rows inserted are found, the others are not', async () => {
    const sink = new ClickHouseSink(on.store)
    const run = `present-${on.name}`
    const sample: Record<string, (i: number) => object> = {
      runs: (i) => ({ run_id: `${run}-${i}`, name: 'r', started_us: 1, updated_us: i }),
      hops: (i) => hopRow(i, { run_id: run }),
      turns: (i) => ({ run_id: run, conversation_id: `c${i % 3}`, turn: i, step: 0, user_start_us: 1_700_000_000_000_000 }),
      steps: (i) => ({ run_id: run, step: i, shard: '0/1', start_us: 1_700_000_000_000_000 }),
      resource_samples: (i) => ({ run_id: run, at_us: 1_700_000_000_000_000 + i, target: 't', metric: 'rss', value: i }),
      alerts: (i) => ({ run_id: run, at_us: 1_700_000_000_000_000 + i, rule: 'r', state: 'firing', component: 'llm' }),
      spans: (i) => ({ run_id: run, trace_id: 'ab'.repeat(16), span_id: `${i}`.padStart(16, '0'), start_us: 1_700_000_000_000_000 }),
    }
    assert.deepEqual(Object.keys(sample).sort(), TABLES.map((t) => t.name).sort(), 'every table is tried')
    for (const [table, row] of Object.entries(sample)) {
      const stored = [0, 1, 2, 3].map(row)
      await sink.insert(table, stored)
      const asked = [2, 3, 4, 5].map(row)
      assert.deepEqual(await sink.present(table, asked), [true, true, false, false], table)
    }
    // more keys than one query may carry
    const many = Array.from({ length: 5_000 }, (_, i) => hopRow(i, { run_id: `${run}-many` }))
    await sink.insert('hops', many.slice(0, 2_500))
    const found = await sink.present('hops', many)
    assert.equal(found.filter(Boolean).length, 2_500)
    assert.ok(found.slice(0, 2_500).every(Boolean))
    let n = 0
    for await (const line of queryJsonLines(on.store, `SELECT count() AS n FROM hopwatch.hops WHERE run_id = '${run}-many'`)) n = (JSON.parse(line) as { n: number }).n
    assert.equal(n, 2_500, 'asking stored nothing')
  })
})
