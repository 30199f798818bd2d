import assert from 'node:assert/strict'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { BatchWriter, Spill, type RowSink } from '../../src/store/index.js'

/** A store that takes `ms` per insert and remembers each batch's size. */
class SlowSink implements RowSink {
  readonly batches: number[] = []
  constructor(private readonly ms: number) {}
  async insert(_table: string, rows: readonly object[]): Promise<void> {
    await new Promise((r) => setTimeout(r, this.ms))
    this.batches.push(rows.length)
  }
}

test('rows that arrive while a batch is being inserted wait for the next flush: one insert per table per flush, not a stream of tiny ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-batching-'))
  const spill = new Spill(join(dir, 'spill'), 1e9)
  await spill.init()
  const sink = new SlowSink(20)
  const flushMs = 300
  const writer = new BatchWriter(sink, spill, { queueRows: 100_000, batchRows: 5000, flushMs, retryMs: 1000 })
  writer.start()
  const started = Date.now()
  let pushed = 0
  // ten rows every 5 ms for 1.5 s, as a proxy at about 2,000 hops a second would push them
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      for (let i = 0; i < 10; i++) writer.push('hops', { n: pushed++ })
      if (Date.now() - started >= 1500) {
        clearInterval(timer)
        resolve()
      }
    }, 5)
  })
  const flushes = Math.ceil((Date.now() - started) / flushMs)
  await writer.close()
  assert.equal(sink.batches.reduce((a, b) => a + b, 0), pushed, 'every row was inserted')
  // a flush per interval, the one at start and the one at close: never an insert chasing each new row
  assert.ok(sink.batches.length <= flushes + 2, `${sink.batches.length} inserts in ${flushes} flush intervals: ${sink.batches.join(' ')}`)
})
