import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { analyzeStoredRun } from '../../src/analyze/index.js'
import { queryJsonLines, type QueryLines, type Store } from '../../src/store/index.js'
import { embeddedEngine, type EngineUnderTest } from '../support/engines.js'
import { AMPLE_SERVICES, storeSeededRun } from '../support/seeded-runs.js'

let engine: EngineUnderTest
let store: Store
before(async () => {
  engine = await embeddedEngine()
  store = await engine.open()
})
after(() => engine.dispose())

test('the analysis receives aggregates, not every latency: no aggregate row carries a per-sample array', async () => {
  const spike = [{ load: 20, phase: 'baseline', seconds: 600 }, { load: 40, phase: 'spike', seconds: 300 }, { load: 20, phase: 'recovery', seconds: 600 }]
  const services = { ...AMPLE_SERVICES, llm: { workers: 8, latency: { median_ms: 350, p95_ms: 600 }, holdMs: 1200, queueCap: 4 } }
  const rows = await storeSeededRun(store, { runId: 'small-aggregates', seed: 1, steps: spike, services })
  assert.ok(rows.turns.length > 1000)
  // every statement's rows, except the bounded samples the rank tests and critical paths are built from
  const seen: Array<{ sql: string; longest: number }> = []
  const query: QueryLines = async function* (sql) {
    let longest = 0
    for await (const line of queryJsonLines(store, sql)) {
      longest = Math.max(longest, line.length)
      yield line
    }
    seen.push({ sql, longest })
  }
  const analysis = await analyzeStoredRun(query, 'hopwatch', 'small-aggregates')
  assert.ok(analysis?.spike !== null)
  const aggregates = seen.filter((s) => !/groupArray\((start_us|user_end_us|component)\)|LIMIT \d+ BY|ORDER BY cityHash64/.test(s.sql))
  assert.ok(aggregates.length >= 5, `${aggregates.length} aggregate statements`)
  const large = aggregates.filter((s) => s.longest > 2000).map((s) => `${s.longest} characters a row from ${s.sql.slice(0, 120).replace(/\s+/g, ' ')}`)
  assert.deepEqual(large, [])
})
