import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { BatchWriter, MemorySink, Spill } from '../../src/store/index.js'
import { hopRow } from '../support/rows.js'

// A real full disk: a 256 KiB tmpfs mounted for the test (npm test runs as root: it installs Debian packages too).
let mountPoint: string
before(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test mounts a small tmpfs and must run as root (as npm test does in CI)')
  mountPoint = await mkdtemp(join(tmpdir(), 'hopwatch-full-disk-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint])
})
after(async () => {
  execFileSync('umount', [mountPoint])
  await rm(mountPoint, { recursive: true, force: true })
})

test('a spill directory on a full disk keeps every whole row it can, counts the rest as disk full, and takes rows again once space is freed', async () => {
  const filler = join(mountPoint, 'filler')
  await writeFile(filler, Buffer.alloc(160 * 1024))
  const sink = new MemorySink()
  sink.down = true
  const spill = new Spill(join(mountPoint, 'spill'), 1e9)
  await spill.init()
  const drops: string[] = []
  const writer = new BatchWriter(sink, spill, { queueRows: 10_000, batchRows: 25, flushMs: 60_000, retryMs: 0 }, (_t, reason) => drops.push(reason))

  let sent = 0
  const send = async (rows: number) => {
    for (let i = 0; i < rows; i++) writer.push('hops', hopRow(sent++, { run_id: 'full-disk' }))
    await writer.flush()
  }
  await send(400) // about 300 KiB of rows into under 100 KiB of room
  const full = writer.stats()
  const counts = full.tables.hops!
  assert.ok(counts.dropped.spill_disk_full > 0, 'rows were refused by the full disk')
  assert.ok(counts.spilled > 0, 'rows were kept until the disk was full')
  assert.equal(counts.spilled + counts.dropped.spill_disk_full, sent, 'every row is either on disk or counted as lost to the full disk')
  assert.deepEqual([...new Set(drops)], ['spill_disk_full'])

  // no torn line: what is on disk parses whole, and its rows are exactly those counted as spilled (a failed
  // insert's rows come behind a marker line: the replay checks whether the store took them after all)
  const rows: Array<{ hop_id?: string }> = []
  for (const name of (await readdir(join(mountPoint, 'spill'))).filter((n) => n.endsWith('.jsonl'))) {
    const lines = (await readFile(join(mountPoint, 'spill', name), 'utf8')).split('\n')
    assert.equal(lines.pop(), '', `${name} ends with a whole line`)
    rows.push(...lines.map((l) => JSON.parse(l) as { hop_id?: string }).filter((row) => row.hop_id !== undefined))
  }
  assert.equal(rows.length, counts.spilled)

  // space is freed: rows spill again, nothing more is dropped
  await rm(filler)
  const droppedBefore = counts.dropped.spill_disk_full
  await send(100)
  assert.equal(writer.stats().tables.hops!.dropped.spill_disk_full, droppedBefore, 'no row dropped once there is room')

  // the store is back: everything kept is replayed, once
  sink.down = false
  await writer.flush()
  await writer.close()
  const after = writer.stats().tables.hops!
  const stored = (sink.rows.get('hops') ?? []).map((row) => (row as { hop_id: string }).hop_id)
  assert.equal(new Set(stored).size, stored.length, 'no row stored twice')
  assert.equal(stored.length, after.spilled, 'every spilled row was replayed')
  assert.equal(after.replayed, after.spilled)
  assert.equal(stored.length + after.dropped.spill_disk_full, sent, 'rows sent = rows stored + rows counted as dropped for a full disk')
  assert.deepEqual(await readdir(join(mountPoint, 'spill')), [], 'the spill is empty after its replay')
})
