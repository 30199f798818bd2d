import assert from 'node:assert/strict'
import { test } from 'node:test'
import { encodeInSlices, tsvEncoder } from '../../src/store/tsv.js'
import { hopRow } from '../support/rows.js'

test('a batch is encoded a slice of rows at a time, the event loop turning between two slices, into the same text as in one piece', async () => {
  const rows = Array.from({ length: 1000 }, (_, i) => hopRow(i, { route: i % 7 === 0 ? '/v1/a\tb\nc\\d' : '/v1/chat/completions' }))
  const encoder = tsvEncoder('hops')
  // turns of the event loop while the batch is encoded: a chain of setImmediate callbacks, each one turn
  let turns = 0
  let encoding = true
  const turn = (): void => {
    if (!encoding) return
    turns++
    setImmediate(turn)
  }
  setImmediate(turn)
  const parts = await encodeInSlices(encoder, rows, 200)
  encoding = false
  assert.equal(parts.length, 5)
  // the loop turned at least once between each two slices, so what waits (a request, a socket's data) is served
  assert.ok(turns >= 4, `the event loop turned ${turns} times while five slices were encoded`)
  assert.equal(Buffer.concat(parts).toString('utf8'), encoder.encode(rows))
})

test('a batch no larger than a slice is encoded at once; an empty one is no text at all', async () => {
  const encoder = tsvEncoder('hops')
  const rows = [hopRow(1), hopRow(2)]
  const parts = await encodeInSlices(encoder, rows, 200)
  assert.equal(parts.length, 1)
  assert.equal(Buffer.concat(parts).toString('utf8'), encoder.encode(rows))
  assert.deepEqual(await encodeInSlices(encoder, [], 200), [])
})
