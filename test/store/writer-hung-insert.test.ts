import assert from 'node:assert/strict'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { BatchWriter, ClickHouseSink, queryJsonLines, Spill, type Store } from '../../src/store/index.js'
import { serverEngine, type EngineUnderTest } from '../support/engines.js'
import { hopRow } from '../support/rows.js'

let engine: EngineUnderTest
let store: Store
before(async () => {
  engine = await serverEngine()
  store = await engine.open()
})
after(async () => {
  engine.server?.resume()
  await engine.dispose()
})

async function stored(run: string): Promise<{ n: number; ids: number }> {
  for await (const line of queryJsonLines(store, `SELECT count() AS n, uniqExact(hop_id) AS ids FROM hopwatch.hops WHERE run_id = '${run}'`)) return JSON.parse(line) as { n: number; ids: number }
  return { n: 0, ids: 0 }
}

test('a hung store holds up neither flushing nor closing: inserts past their deadline are abandoned and spilled, and replayed once, without doubles, when it answers again', async () => {
  const server = engine.server
  assert.ok(server)
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-hung-'))
  const sink = new ClickHouseSink(store, { timeoutMs: 500 })
  const options = { queueRows: 10_000, batchRows: 100, flushMs: 60_000, retryMs: 0 }
  const spill = new Spill(dir, 1e9)
  await spill.init()
  const first = new BatchWriter(sink, spill, options)
  for (let i = 0; i < 200; i++) first.push('hops', hopRow(i, { run_id: 'hung' }))
  await first.flush()
  server.pause() // connections are accepted and never answered
  for (let i = 200; i < 500; i++) first.push('hops', hopRow(i, { run_id: 'hung' }))
  await first.flush() // returns: the first insert is abandoned at its deadline, the rest spill behind it
  const during = first.stats().tables.hops!
  assert.equal(during.written, 200)
  assert.equal(during.spilled, 300, 'the rows of the hung insert and the ones after it were spilled')
  assert.match(first.stats().lastError, /abort/i, 'abandoned at the sink\'s deadline, not at the client\'s 30 s request timeout')
  for (let i = 500; i < 600; i++) first.push('hops', hopRow(i, { run_id: 'hung' }))
  await first.close() // returns too, the store still hung
  assert.equal(first.stats().tables.hops!.spilled, 400)

  server.resume()
  // the next process on the same spill directory
  const second = new BatchWriter(new ClickHouseSink(store, { timeoutMs: 10_000 }), await reopened(dir), options)
  await second.flush()
  await second.close()
  const replay = second.stats().tables.hops!
  assert.equal(replay.replayed, 400)
  assert.deepEqual(await stored('hung'), { n: 600, ids: 600 }, 'every row once, the abandoned insert included')
})

async function reopened(dir: string): Promise<Spill> {
  const spill = new Spill(dir, 1e9)
  await spill.init()
  return spill
}
