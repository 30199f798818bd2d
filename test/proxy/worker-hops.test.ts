import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hopEnded } from '../../src/events.js'
import { HopHandOver, publishHops, type HopBatch } from '../../src/proxy/index.js'
import type { HopRecord } from '../../src/types.js'

const hop = (i: number) => ({ hop_id: `h${i}`, run_id: 'r' }) as unknown as HopRecord
const inFlight = () => [{ name: 'llm', component: 'llm' as const, inFlight: 3 }]

test('a worker hands every hop that ends over in order, at most batchHops a message, each with its in-flight hops', async () => {
  const sent: HopBatch[] = []
  const handOver = new HopHandOver((m, done) => {
    sent.push(m)
    setImmediate(() => done(null))
  }, inFlight, { maxHops: 10_000, intervalMs: 60_000, batchHops: 100 })
  handOver.start()
  try {
    for (let i = 0; i < 250; i++) hopEnded.publish(hop(i))
    await handOver.flush()
  } finally {
    await handOver.stop()
  }
  const hops = sent.flatMap((m) => m.hops.map((h) => h.hop_id))
  assert.deepEqual(hops, Array.from({ length: 250 }, (_, i) => `h${i}`))
  assert.ok(sent.every((m) => m.hops.length <= 100 && m.t === 'hops' && m.inFlight[0]?.inFlight === 3))
  assert.equal(sent.reduce((a, m) => a + m.dropped, 0), 0)
})

test('while the owner does not read, a worker holds at most maxHops and counts the rest, reported in the next batch', async () => {
  const waiting: Array<(err: Error | null) => void> = []
  const sent: HopBatch[] = []
  let draining = false
  const handOver = new HopHandOver((m, done) => {
    sent.push(m)
    // the pipe does not drain until the test says so
    if (draining) setImmediate(() => done(null))
    else waiting.push(done)
  }, inFlight, { maxHops: 30, intervalMs: 60_000, batchHops: 10 })
  handOver.start()
  try {
    for (let i = 0; i < 100; i++) hopEnded.publish(hop(i))
    assert.equal(handOver.stats.inPipe + handOver.stats.queued, 30)
    assert.equal(handOver.stats.dropped, 70)
    // the pipe drains: the next message carries the count
    draining = true
    for (const done of waiting.splice(0)) done(null)
    await handOver.flush()
  } finally {
    draining = true
    for (const done of waiting.splice(0)) done(null)
    await handOver.stop()
  }
  assert.equal(sent.reduce((a, m) => a + m.hops.length, 0), 30)
  assert.equal(sent.reduce((a, m) => a + m.dropped, 0), 70)
})

test('hops whose message the pipe failed to carry (the owner is gone) are counted as dropped, never silently', async () => {
  const handOver = new HopHandOver((_m, done) => setImmediate(() => done(new Error('channel closed'))), inFlight, { maxHops: 100, intervalMs: 60_000, batchHops: 10 })
  handOver.start()
  for (let i = 0; i < 25; i++) hopEnded.publish(hop(i))
  await handOver.stop()
  assert.equal(handOver.stats.dropped, 25)
})

test('the owner publishes a worker\'s hops where its own subscribers take them', () => {
  const seen: string[] = []
  const listener = (m: unknown) => seen.push((m as HopRecord).hop_id)
  hopEnded.subscribe(listener)
  try {
    publishHops({ t: 'hops', hops: [hop(1), hop(2)], inFlight: [], dropped: 0 })
  } finally {
    hopEnded.unsubscribe(listener)
  }
  assert.deepEqual(seen, ['h1', 'h2'])
})
