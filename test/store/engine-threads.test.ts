import assert from 'node:assert/strict'
import { getPriority } from 'node:os'
import { after, test } from 'node:test'
import { ENGINE_NICE, lowerEngineThreads, NODE_THREADS } from '../../src/store/engine-threads.js'
import { queryJsonLines } from '../../src/store/index.js'
import { embeddedEngine, type EngineUnderTest } from '../support/engines.js'
import { threadsOf } from '../support/threads.js'

let engine: EngineUnderTest
after(() => engine?.dispose())

test('the embedded engine\'s threads run at nice 19 and Node\'s own at the process\'s priority', async () => {
  const own = getPriority(process.pid)
  engine = await embeddedEngine()
  const store = await engine.open()
  // a query that spreads over the engine's pool, which starts threads on demand
  await queryJsonLines(store, 'SELECT sum(number) AS s FROM numbers(20000000) SETTINGS max_threads = 4')
  const before = threadsOf()
  const engineThreads = before.filter((t) => !NODE_THREADS.has(t.comm))
  assert.ok(engineThreads.length >= 4, `engine threads: ${engineThreads.map((t) => t.comm).join(', ')}`)
  lowerEngineThreads().sweep()
  const after = new Map(threadsOf().map((t) => [t.tid, t]))
  // each engine thread still there (the same one: same name) runs at the lowest priority
  const still = engineThreads.filter((t) => after.get(t.tid)?.comm === t.comm)
  assert.ok(still.length >= 4, `${still.length} of ${engineThreads.length} engine threads still there`)
  for (const t of still) assert.equal(after.get(t.tid)?.nice, ENGINE_NICE, `${t.comm} (${t.tid})`)
  for (const t of before.filter((t) => NODE_THREADS.has(t.comm))) {
    const now = after.get(t.tid)
    if (now !== undefined) assert.equal(now.nice, own, `Node's ${t.comm} (${t.tid})`)
  }
})
