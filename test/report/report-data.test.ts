import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { reportDocument, type ReportDocument } from '../../src/report/report-data.js'
import { queryJsonLines, type Store } from '../../src/store/index.js'
import { embeddedEngine, serverEngine, type EngineUnderTest } from '../support/engines.js'
import { AMPLE_SERVICES, storeSeededRun, type SeededRun } from '../support/seeded-runs.js'

const RUN: SeededRun = {
  runId: 'report-data',
  seed: 4,
  steps: [{ load: 9, phase: 'baseline', seconds: 120 }, { load: 30, phase: 'spike', seconds: 120 }, { load: 9, phase: 'recovery', seconds: 240 }],
  services: { ...AMPLE_SERVICES, llm: { workers: 8, latency: { median_ms: 350, p95_ms: 600 }, holdMs: 1200, queueCap: 4 } },
  toolShare: 0.3,
  memory: { mbPerHour: 50, seconds: 480 },
}

const engines: EngineUnderTest[] = []
const stores: Store[] = []
before(async () => {
  for (const make of [embeddedEngine, serverEngine]) {
    const engine = await make()
    engines.push(engine)
    const store = await engine.open()
    await storeSeededRun(store, RUN)
    stores.push(store)
  }
})
after(async () => {
  for (const e of engines) await e.dispose()
})

/** The document without what says where and when it was made, numbers to 12 digits (a mean's sum is added in another order). */
function comparable(doc: ReportDocument): unknown {
  const { versions: _v, generated_at: _g, ...rest } = doc
  return JSON.parse(JSON.stringify(rest), (_, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v))
}

test("the report's data is the same on the embedded engine and on Debian's ClickHouse 18.16", async () => {
  const [embedded, server] = await Promise.all(stores.map((s) => reportDocument((sql) => queryJsonLines(s, sql), 'hopwatch', RUN.runId, { version: 'test' })))
  assert.ok(embedded !== undefined && server !== undefined)
  assert.ok(embedded.series.response.length > 10 && embedded.series.errors.length > 0 && embedded.series.recovery !== null && embedded.component_totals.length === 4)
  assert.ok(embedded.waterfalls.median !== undefined && embedded.waterfalls.slowest.length === 5)
  assert.deepEqual(comparable(server), comparable(embedded))
})

test("the report's component table ends at the slowest hop: max is the largest latency, p99 below it", async () => {
  const doc = await reportDocument((sql) => queryJsonLines(stores[1] as Store, sql), 'hopwatch', RUN.runId, { version: 'test' })
  assert.ok(doc !== undefined && doc.component_totals.length > 0, 'there are components to check')
  for (const c of doc.component_totals) assert.ok(c.p50_ms <= c.p90_ms && c.p90_ms <= c.p95_ms && c.p95_ms <= c.p99_ms && c.p99_ms <= c.max_ms, JSON.stringify(c))
})
