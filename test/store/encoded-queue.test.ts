import assert from 'node:assert/strict'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { BatchWriter, MemorySink, Spill, type RowSink } from '../../src/store/index.js'
import { PACK_ROWS } from '../../src/store/writer.js'
import { largeIntegerText, tsvEncoder } from '../../src/store/tsv.js'
import { Rng } from '../../src/sim/random.js'
import { hopRow } from '../support/rows.js'

test('a row as one TabSeparated line is the text of encode, and reads back to a row that encodes to the same line', () => {
  const encoder = tsvEncoder('hops')
  const rows = [
    hopRow(1, { route: '/v1/a\tb\nc\\d\r\0e', model: 'gpt-é-模型' }),
    // a numeric field given text keeps it (for the store to refuse it as before), a huge one its exponent
    hopRow(2, { status: 'abc' as unknown as number, tokens_in: 1e300, bytes_in: Number.NaN }),
    // fields left out are sent as their type's default
    { run_id: 'sparse', hop_id: 'h-3', start_us: 1_764_000_000_000_123 },
  ]
  const lines = rows.map((r) => encoder.line(r))
  assert.equal(lines.join(''), encoder.encode(rows))
  const back = encoder.decode(lines.join(''))
  assert.equal(back.length, 3)
  assert.equal(encoder.encode(back), encoder.encode(rows))
  const [first, second, third] = back as Array<Record<string, unknown>>
  assert.equal(first?.route, '/v1/a\tb\nc\\d\r\0e')
  assert.equal(first?.model, 'gpt-é-模型')
  assert.equal(first?.start_us, rows[0]?.start_us, 'a timestamp in µs reads back as the same number')
  assert.equal(second?.status, 'abc')
  assert.equal(second?.tokens_in, 1e300)
  assert.equal(third?.conversation_id, '')
  assert.equal(third?.turn, 0)
})

test('a timestamp is printed in two halves as String prints it whole, at every edge of the halves', () => {
  const rng = new Rng(8, 'large-integers')
  const edges = [1e8, 1e8 + 1, 2e8 - 1, 1_764_712_399_999_999, 1_764_712_400_000_000, 1_764_712_300_000_001, 99_999_999 * 1e8 + 99_999_999, Number.MAX_SAFE_INTEGER]
  const drawn = Array.from({ length: 20_000 }, () => Math.floor(1e8 + rng.next() * (Number.MAX_SAFE_INTEGER - 1e8)))
  // the multiples of 1e8 and the integers just below them are where a half could carry or borrow
  const near = drawn.flatMap((n) => [Math.floor(n / 1e8) * 1e8, Math.floor(n / 1e8) * 1e8 - 1]).filter((n) => n >= 1e8)
  for (const n of [...edges, ...drawn, ...near]) assert.equal(largeIntegerText(n), String(n))
  // and in a row's line, where smaller, negative and fractional numbers keep String's own text
  const line = tsvEncoder('hops').line(hopRow(1, { start_us: 1_764_712_400_000_007, end_us: 99_999_999, status: 200, bytes_in: -5, tokens_in: 1.5 }))
  for (const text of ['1764712400000007', '99999999', '200', '-5', '1.5']) assert.ok(line.split('\t').includes(text), `${text} in ${line}`)
})

/** A sink that takes encoded rows and keeps each insert's bytes, as a store would receive them. */
class EncodedSink implements RowSink {
  readonly inserts: Array<{ table: string; text: string }> = []
  async insert(): Promise<void> {
    throw new Error('rows arrive encoded: insert() is not used')
  }
  async insertEncoded(table: string, chunks: readonly Buffer[]): Promise<void> {
    this.inserts.push({ table, text: Buffer.concat(chunks).toString('utf8') })
  }
}

async function spillIn(): Promise<Spill> {
  const spill = new Spill(await mkdtemp(join(tmpdir(), 'hopwatch-encoded-')), 1e9)
  await spill.init()
  return spill
}

test('a writer whose sink takes encoded rows hands it batches of bytes, at most batchRows rows each, in the order pushed', async () => {
  const sink = new EncodedSink()
  // sized from the pack: a batch has room for two packs and a half, and the rows end in a part of a pack
  const batchRows = 2 * PACK_ROWS + (PACK_ROWS >> 1)
  const total = 6 * PACK_ROWS + 16
  const writer = new BatchWriter(sink, await spillIn(), { queueRows: 10 * total, batchRows, flushMs: 60_000, retryMs: 60_000 })
  const rows = Array.from({ length: total }, (_, i) => hopRow(i, { run_id: 'encoded' }))
  for (const row of rows) writer.push('hops', row)
  assert.equal(writer.stats().queuedRows, total, 'encoded rows count as queued until inserted')
  await writer.close()
  const encoder = tsvEncoder('hops')
  const sizes = sink.inserts.map((i) => i.text.split('\n').length - 1)
  assert.equal(sizes.reduce((a, b) => a + b, 0), total)
  assert.ok(sizes.every((n) => n <= batchRows), `batch sizes ${sizes.join(', ')}`)
  assert.ok(sizes.some((n) => n > PACK_ROWS), `packs are joined into batches: ${sizes.join(', ')}`)
  assert.equal(sink.inserts.map((i) => i.text).join(''), encoder.encode(rows), 'the bytes are the rows, in push order')
  assert.equal(writer.stats().tables.hops?.written, total)
})

test('a sink without encoded inserts, or a table the schema does not know, gets its rows as objects', async () => {
  const memory = new MemorySink()
  const writer = new BatchWriter(memory, await spillIn(), { queueRows: 100, batchRows: 10, flushMs: 60_000, retryMs: 60_000 })
  const row = hopRow(1)
  writer.push('hops', row)
  await writer.close()
  assert.equal(memory.rows.get('hops')?.[0], row, 'the very object pushed')

  class Both extends MemorySink {
    readonly encoded: string[] = []
    async insertEncoded(_table: string, chunks: readonly Buffer[]): Promise<void> {
      this.encoded.push(Buffer.concat(chunks).toString('utf8'))
    }
  }
  const both = new Both()
  const second = new BatchWriter(both, await spillIn(), { queueRows: 100, batchRows: 10, flushMs: 60_000, retryMs: 60_000 })
  second.push('not_a_table', { a: 1 })
  second.push('hops', row)
  await second.close()
  assert.deepEqual(both.rows.get('not_a_table'), [{ a: 1 }])
  assert.equal(both.encoded.join(''), tsvEncoder('hops').encode([row]))
})
