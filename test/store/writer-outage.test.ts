import assert from 'node:assert/strict'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { BatchWriter, ClickHouseSink, queryJsonLines, Spill } from '../../src/store/index.js'
import { serverEngine, type EngineUnderTest } from '../support/engines.js'
import { hopRow } from '../support/rows.js'

let engine: EngineUnderTest
before(async () => {
  engine = await serverEngine()
})
after(() => engine.dispose())

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

test('rows sent while the server is killed spill to disk and are replayed when it is back: none lost, none doubled', async () => {
  const store = await engine.open()
  const server = engine.server
  assert.ok(server)
  const spill = new Spill(await mkdtemp(join(tmpdir(), 'hopwatch-spill-')), 1e9)
  await spill.init()
  const writer = new BatchWriter(new ClickHouseSink(store), spill, { queueRows: 50_000, batchRows: 200, flushMs: 20, retryMs: 200 })
  writer.start()

  let sent = 0
  const sendFor = async (ms: number) => {
    const end = Date.now() + ms
    while (Date.now() < end) {
      for (let i = 0; i < 50; i++) writer.push('hops', hopRow(sent++, { run_id: 'outage' }))
      await new Promise((r) => setTimeout(r, 5))
    }
  }

  await sendFor(500)
  await server.kill()
  await sendFor(1_000)
  await until(() => writer.stats().tables.hops!.spilled > 0, 'rows to spill while the server is down')
  await server.start()
  await sendFor(500)
  await writer.flush()
  await until(async () => {
    await writer.flush()
    return spill.bytes === 0 && writer.stats().storeUp
  }, 'the spill to be replayed')
  await writer.close()

  const stats = writer.stats().tables.hops!
  assert.ok(stats.spilled > 0, 'some rows were spilled during the outage')
  assert.equal(stats.replayed, stats.spilled, 'every spilled row was replayed')
  assert.deepEqual(stats.dropped, { queue_full: 0, spill_full: 0, spill_disk_full: 0, spill_error: 0, spill_corrupt: 0, spill_vanished: 0, refused: 0 })
  let stored = 0
  let distinct = 0
  for await (const line of queryJsonLines(store, "SELECT count() AS n, uniqExact(hop_id) AS d FROM hopwatch.hops WHERE run_id = 'outage'")) {
    const row = JSON.parse(line) as { n: number; d: number }
    stored = row.n
    distinct = row.d
  }
  assert.equal(stored, sent)
  assert.equal(distinct, sent)
})
