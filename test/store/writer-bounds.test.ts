import assert from 'node:assert/strict'
import { appendFile, mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { BatchWriter, MemorySink, Spill } from '../../src/store/index.js'
import { hopRow } from '../support/rows.js'

async function spillIn(maxBytes = 1e9): Promise<Spill> {
  const spill = new Spill(await mkdtemp(join(tmpdir(), 'hopwatch-spill-')), maxBytes)
  await spill.init()
  return spill
}

test('a store that is down sends every batch to the spill file, and all of it is replayed when it is back', async () => {
  const sink = new MemorySink()
  sink.down = true
  const spill = await spillIn()
  const writer = new BatchWriter(sink, spill, { queueRows: 1000, batchRows: 10, flushMs: 10_000, retryMs: 0 })
  for (let i = 0; i < 95; i++) writer.push('hops', hopRow(i))
  await writer.flush()
  assert.equal(writer.stats().tables.hops?.spilled, 95)
  assert.equal(writer.stats().storeUp, false)
  sink.down = false
  await writer.flush()
  assert.equal(sink.rows.get('hops')?.length, 95)
  assert.equal(writer.stats().tables.hops?.replayed, 95)
  assert.equal(spill.bytes, 0)
})

test('rows pushed past the queue bound while inserts are stuck go to the spill file, not to memory', async () => {
  let release: () => void = () => {}
  const stuck = new Promise<void>((r) => (release = r))
  const sink = new MemorySink()
  const insert = sink.insert.bind(sink)
  sink.insert = async (table, rows) => {
    await stuck
    return insert(table, rows)
  }
  const spill = await spillIn()
  const writer = new BatchWriter(sink, spill, { queueRows: 100, batchRows: 50, flushMs: 10_000, retryMs: 0 })
  for (let i = 0; i < 180; i++) writer.push('hops', hopRow(i))
  assert.ok(writer.stats().queuedRows <= 200, 'memory holds at most two queues of rows')
  for (let i = 0; i < 500 && writer.stats().tables.hops?.spilled !== 80; i++) await new Promise((r) => setTimeout(r, 10))
  assert.equal(writer.stats().tables.hops?.spilled, 80)
  assert.equal(writer.stats().tables.hops?.written, 0, 'nothing was inserted while the store was stuck')
  release()
  await writer.close()
  await writer.flush()
  assert.equal(sink.rows.get('hops')?.length, 180)
})

test('past both the queue and the spill bound, rows are dropped and counted by reason', async () => {
  const sink = new MemorySink()
  sink.down = true
  const spill = await spillIn(15_000) // room for two batches of ten rows only
  const dropped: Array<[string, number]> = []
  const writer = new BatchWriter(sink, spill, { queueRows: 100, batchRows: 10, flushMs: 10_000, retryMs: 60_000 }, (_t, reason, n) => dropped.push([reason, n]))
  for (let i = 0; i < 50; i++) writer.push('hops', hopRow(i))
  await writer.flush()
  const counts = writer.stats().tables.hops!
  assert.ok(counts.spilled > 0 && counts.spilled < 50)
  assert.equal(counts.dropped.spill_full, 50 - counts.spilled)
  assert.equal(counts.pushed, counts.spilled + counts.dropped.spill_full)
  assert.ok(dropped.every(([reason]) => reason === 'spill_full'))
})

test('a torn last line in a spill file left by a crash is counted as dropped and the rest is replayed', async () => {
  const spill = await spillIn()
  await spill.append('hops', [hopRow(1), hopRow(2)])
  await appendFile(join(spill.dir, 'hops.jsonl'), '{"run_id":"torn')
  const sink = new MemorySink()
  const writer = new BatchWriter(sink, spill, { queueRows: 100, batchRows: 10, flushMs: 10_000, retryMs: 0 })
  await writer.flush()
  assert.equal(sink.rows.get('hops')?.length, 2)
  assert.equal(writer.stats().tables.hops?.dropped.spill_corrupt, 1)
  assert.deepEqual(await readdir(spill.dir), [])
})

test('a replay that fails part-way resumes at its offset: no row is inserted twice', async () => {
  const spill = await spillIn()
  await spill.append('hops', Array.from({ length: 30 }, (_, i) => hopRow(i)))
  const sink = new MemorySink()
  let inserts = 0
  const insert = sink.insert.bind(sink)
  sink.insert = async (table, rows) => {
    if (++inserts === 2) throw new Error('store went away')
    return insert(table, rows)
  }
  const writer = new BatchWriter(sink, spill, { queueRows: 100, batchRows: 10, flushMs: 10_000, retryMs: 0 })
  await writer.flush() // first batch in, second fails
  assert.equal(sink.rows.get('hops')?.length, 10)
  await writer.flush() // resumes at row 10
  const ids = (sink.rows.get('hops') as Array<{ hop_id: string }>).map((r) => r.hop_id)
  assert.equal(ids.length, 30)
  assert.equal(new Set(ids).size, 30)
})

test('closing while the store is failing spills what is left after the first failure instead of trying each batch', async () => {
  const sink = new MemorySink()
  let calls = 0
  sink.insert = async () => {
    if (++calls === 1) throw new Error('store went away')
    return new Promise<void>(() => {}) // a store that stopped answering: every later insert would hang
  }
  const spill = await spillIn()
  const writer = new BatchWriter(sink, spill, { queueRows: 1000, batchRows: 10, flushMs: 60_000, retryMs: 60_000 })
  for (let i = 0; i < 35; i++) writer.push('hops', hopRow(i))
  await writer.close()
  assert.equal(calls, 1)
  assert.equal(writer.stats().tables.hops?.spilled, 35)
})

test('a spill directory deleted under the writer: its rows are counted lost with the reason, later rows spill again and replay', async () => {
  const { rm } = await import('node:fs/promises')
  const sink = new MemorySink()
  sink.down = true
  const spill = await spillIn()
  const writer = new BatchWriter(sink, spill, { queueRows: 1000, batchRows: 10, flushMs: 10_000, retryMs: 0 })
  for (let i = 0; i < 40; i++) writer.push('hops', hopRow(i))
  await writer.flush()
  assert.equal(writer.stats().tables.hops?.spilled, 40)
  await rm(spill.dir, { recursive: true, force: true })
  // still down: the next rows spill into the directory made again
  for (let i = 40; i < 55; i++) writer.push('hops', hopRow(i))
  await writer.flush()
  sink.down = false
  await writer.flush()
  const hops = writer.stats().tables.hops!
  assert.equal(hops.dropped.spill_vanished, 40, JSON.stringify(hops))
  assert.equal(hops.replayed, 15)
  assert.equal(sink.rows.get('hops')?.length, 15)
  assert.equal(spill.bytes, 0)
})

test('replaying a spill file with a 40 MB line that has no newline costs linear time: the line is counted corrupt, the rows around it replayed', async () => {
  const sink = new MemorySink()
  const spill = await spillIn()
  await appendFile(join(spill.dir, 'hops.jsonl'), `${JSON.stringify(hopRow(1))}\n${'x'.repeat(40 * 1024 * 1024)}`)
  await spill.init()
  const writer = new BatchWriter(sink, spill, { queueRows: 1000, batchRows: 10, flushMs: 10_000, retryMs: 0 })
  await writer.flush()
  assert.equal(sink.rows.get('hops')?.length, 1)
  assert.equal(writer.stats().tables.hops?.dropped.spill_corrupt, 1)
})
