import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { getPriority } from 'node:os'
import { after, test } from 'node:test'
import { ENGINE_NICE, lowerEngineThreads, NODE_THREADS, poolSize } from '../../src/store/engine-threads.js'
import { queryJsonLines } from '../../src/store/index.js'
import { embeddedEngine, type EngineUnderTest } from '../support/engines.js'
import { threadsOf } from '../support/threads.js'

let engine: EngineUnderTest
after(() => engine?.dispose())

test('the embedded engine\'s threads and libuv\'s pool (where its inserts run) run at nice 19, Node\'s other threads at the process\'s priority', async () => {
  const own = getPriority(process.pid)
  engine = await embeddedEngine()
  const store = await engine.open()
  // a query that spreads over the engine's pool, which starts threads on demand
  await queryJsonLines(store, 'SELECT sum(number) AS s FROM numbers(20000000) SETTINGS max_threads = 4')
  const before = threadsOf()
  const engineThreads = before.filter((t) => !NODE_THREADS.has(t.comm))
  assert.ok(engineThreads.length >= 4, `engine threads: ${engineThreads.map((t) => t.comm).join(', ')}`)
  const lowered = lowerEngineThreads()
  lowered.sweep()
  const pool = new Set(await lowered.pool)
  assert.equal(pool.size, poolSize(), 'every pool thread found')
  const after = new Map(threadsOf().map((t) => [t.tid, t]))
  for (const tid of pool) assert.equal(after.get(tid)?.nice, ENGINE_NICE, `pool thread ${tid}`)
  // what runs on the pool from now on runs at the lowest priority: each open below reads the stat of the pool thread
  // that opened it (its 19th field is the nice value)
  const stats = await Promise.all(Array.from({ length: 32 }, () => readFile('/proc/thread-self/stat', 'utf8')))
  assert.deepEqual(new Set(stats.map((s) => Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[16]))), new Set([ENGINE_NICE]))
  // each engine thread still there (the same one: same name) runs at the lowest priority
  const still = engineThreads.filter((t) => after.get(t.tid)?.comm === t.comm)
  assert.ok(still.length >= 4, `${still.length} of ${engineThreads.length} engine threads still there`)
  for (const t of still) assert.equal(after.get(t.tid)?.nice, ENGINE_NICE, `${t.comm} (${t.tid})`)
  const others = before.filter((t) => NODE_THREADS.has(t.comm) && !pool.has(t.tid))
  assert.ok(others.some((t) => t.tid === process.pid) && others.length >= 2, 'the main thread and V8\'s are among them')
  for (const t of others) {
    const now = after.get(t.tid)
    if (now !== undefined) assert.equal(now.nice, own, `Node's ${t.comm} (${t.tid})`)
  }
})
