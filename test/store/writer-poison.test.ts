import assert from 'node:assert/strict'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { BatchWriter, ClickHouseSink, isDataError, queryJsonLines, Spill, type Store } from '../../src/store/index.js'
import { onEachEngine } from '../support/engines.js'
import { hopRow } from '../support/rows.js'

async function count(store: Store, runId: string): Promise<number> {
  for await (const line of queryJsonLines(store, `SELECT count() AS n FROM hopwatch.hops WHERE run_id = '${runId}'`)) return Number((JSON.parse(line) as { n: string }).n)
  return 0
}

async function spillIn(): Promise<Spill> {
  const spill = new Spill(await mkdtemp(join(tmpdir(), 'hopwatch-poison-')), 1e9)
  await spill.init()
  return spill
}

onEachEngine((engine) => `a row the store refuses, on the ${engine}`, (on) => {
  test('one poison row in a batch goes to the dead-letter file, counted; the 299 others are written and the store stays up', async () => {
    const spill = await spillIn()
    const writer = new BatchWriter(new ClickHouseSink(on.store), spill, { queueRows: 10_000, batchRows: 100, flushMs: 60_000, retryMs: 60_000 })
    for (let i = 0; i < 300; i++) writer.push('hops', hopRow(i, { run_id: 'poison-live', ...(i === 150 ? { tokens_in: 1e300 } : {}) }))
    await writer.close()
    const stats = writer.stats()
    assert.equal(stats.tables.hops?.written, 299)
    assert.equal(stats.tables.hops?.dropped.refused, 1)
    assert.equal(stats.tables.hops?.spilled, 0, 'nothing spilled: the store was up all along')
    assert.equal(stats.storeUp, true)
    assert.equal(await count(on.store, 'poison-live'), 299)
    const dead = (await readFile(join(spill.deadLetterDir, 'hops.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { table: string; error: string; row: { hop_id: string } })
    assert.deepEqual(dead.map((d) => [d.table, d.row.hop_id]), [['hops', 'hop-150']])
    assert.match(dead[0]!.error, /Cannot parse/)
  })

  test('a batch the store refused for its data is not sent whole again: its halves go next', async () => {
    // every insert as (rows, first hop_id): the refused batch's own rows must never come back as one insert
    const sent: string[] = []
    class Recording extends ClickHouseSink {
      override async insertEncoded(table: string, chunks: readonly Buffer[]): Promise<void> {
        const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l !== '')
        sent.push(`${lines.length} from ${lines[0]?.split('\t')[3]}`)
        await super.insertEncoded(table, chunks)
      }
    }
    const writer = new BatchWriter(new Recording(on.store), await spillIn(), { queueRows: 10_000, batchRows: 128, flushMs: 60_000, retryMs: 60_000 })
    for (let i = 0; i < 200; i++) writer.push('hops', hopRow(i, { run_id: 'poison-halves', ...(i === 150 ? { tokens_in: 1e300 } : {}) }))
    await writer.close()
    assert.equal(writer.stats().tables.hops?.written, 199)
    assert.equal(await count(on.store, 'poison-halves'), 199)
    // the first batch whole; the second (72 rows) whole once, refused; then its first half, refused too, and its halves
    assert.deepEqual(sent.slice(0, 5), ['128 from hop-0', '72 from hop-128', '36 from hop-128', '18 from hop-128', '18 from hop-146'])
    assert.equal(new Set(sent).size, sent.length, `an insert was sent twice: ${sent.join(', ')}`)
  })

  test('a poison row left in a spill file is set aside on replay, not retried forever: the rows after it, and the next table, are replayed', async () => {
    const spill = await spillIn()
    const lines = (rows: object[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join('')
    const good = (i: number) => hopRow(i, { run_id: 'poison-replay' })
    await writeFile(join(spill.dir, 'hops.jsonl'), lines([good(0), good(1), hopRow(2, { run_id: 'poison-replay', turn: 1e300 }), ...Array.from({ length: 40 }, (_, k) => good(3 + k))]))
    await writeFile(join(spill.dir, 'alerts.jsonl'), lines([{ run_id: 'poison-replay', at_us: 1, rule: 'r', state: 'firing', severity: 'warning', component: 'llm', value: 1, threshold: 0, message: 'm' }]))
    const writer = new BatchWriter(new ClickHouseSink(on.store), spill, { queueRows: 10_000, batchRows: 10, flushMs: 60_000, retryMs: 60_000 })
    await writer.flush()
    await writer.flush() // a second pass finds nothing left to replay
    const stats = writer.stats()
    assert.equal(stats.tables.hops?.replayed, 42)
    assert.equal(stats.tables.hops?.dropped.refused, 1)
    assert.equal(stats.tables.alerts?.replayed, 1, 'the table after the poison one was replayed too')
    assert.equal(await count(on.store, 'poison-replay'), 42)
    assert.deepEqual(await spill.tables(), [], 'no spill file is left to replay')
    await writer.close()
  })
})

test('data errors are told from a store that is down: ClickHouse parse and type codes, by code or in an older server\'s message', () => {
  assert.equal(isDataError({ code: '27', message: 'Cannot parse input' }), true)
  assert.equal(isDataError({ message: 'Code: 72, e.displayText() = DB::Exception: Unsigned type must not contain' }), true)
  assert.equal(isDataError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:8123' }), false)
  assert.equal(isDataError({ message: 'Code: 16, e.displayText() = DB::Exception: No such column' }), false, 'a schema problem is no bad row')
  assert.equal(isDataError(new Error('Timeout error.')), false)
})
