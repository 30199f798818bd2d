import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { queryJsonLines, TABLES } from '../../src/store/index.js'
import { MIGRATIONS } from '../../src/store/schema.js'
import { ENGINES, type EngineUnderTest } from '../support/engines.js'

for (const makeEngine of ENGINES) {
  describe(`store schema on the ${makeEngine === ENGINES[0] ? 'embedded engine' : 'Debian ClickHouse server'}`, () => {
    let engine: EngineUnderTest
    before(async () => {
      engine = await makeEngine()
    })
    after(() => engine.dispose())

    test('creates every table, and opening the store again applies no migration twice', async () => {
      const first = await engine.open()
      const again = await engine.open()
      const tables: string[] = []
      for await (const line of queryJsonLines(again, "SELECT name FROM system.tables WHERE database = 'hopwatch' ORDER BY name")) {
        tables.push((JSON.parse(line) as { name: string }).name)
      }
      for (const t of TABLES) assert.ok(tables.includes(t.name), `${t.name} missing from ${tables.join(', ')}`)
      const counts: Array<{ version: number; n: number }> = []
      for await (const line of queryJsonLines(first, 'SELECT version, count() AS n FROM hopwatch.schema_migrations GROUP BY version ORDER BY version')) {
        counts.push(JSON.parse(line) as { version: number; n: number })
      }
      assert.deepEqual(counts, MIGRATIONS.map((m) => ({ version: m.version, n: 1 })))
      assert.equal(counts.length, 7)
      const columns: string[] = []
      for await (const line of queryJsonLines(again, "SELECT concat(table, '.', name) AS c FROM system.columns WHERE database = 'hopwatch' ORDER BY c")) columns.push((JSON.parse(line) as { c: string }).c)
      for (const t of TABLES) for (const [name] of t.columns) assert.ok(columns.includes(`${t.name}.${name}`), `${t.name}.${name} missing`)
    })

    test('every table has `time`, its time column as a DateTime the writers never send and SELECT * leaves out', async () => {
      const store = await engine.open()
      const read = async (sql: string) => {
        const out: Array<Record<string, unknown>> = []
        for await (const line of queryJsonLines(store, sql)) out.push(JSON.parse(line) as Record<string, unknown>)
        return out
      }
      const types = await read("SELECT table, type, default_kind FROM system.columns WHERE database = 'hopwatch' AND name = 'time' ORDER BY table")
      assert.deepEqual(types.map((t) => t.table), TABLES.map((t) => t.name).sort())
      for (const t of types) assert.deepEqual([t.type, t.default_kind], ['DateTime', 'ALIAS'], String(t.table))
      await store.client.insert({ table: 'hopwatch.alerts', values: [{ run_id: 'schema-time', at_us: 1_800_000_123_456_789, rule: 'r', state: 'firing', severity: 'warning', component: 'llm', value: 1, threshold: 1, message: '' }], format: 'JSONEachRow' })
      const [row] = await read("SELECT toUnixTimestamp(time) AS t, toTypeName(time) AS type FROM hopwatch.alerts WHERE run_id = 'schema-time'")
      assert.deepEqual(row, { t: 1_800_000_123, type: 'DateTime' })
      const [star] = await read("SELECT * FROM hopwatch.alerts WHERE run_id = 'schema-time'")
      assert.ok(star !== undefined && !('time' in star), Object.keys(star ?? {}).join(', '))
    })

    test('uses LowCardinality only where the engine has it', async () => {
      const store = await engine.open()
      const lines: string[] = []
      for await (const line of queryJsonLines(store, "SELECT type FROM system.columns WHERE database = 'hopwatch' AND table = 'hops' AND name = 'component'")) lines.push(line)
      const type = (JSON.parse(lines[0] ?? '{}') as { type: string }).type
      assert.equal(type, store.capabilities.lowCardinality ? 'LowCardinality(String)' : 'String')
    })
  })
}

test('every table\'s key begins with run_id, the column a replay\'s lookups narrow by', () => {
  for (const table of TABLES) assert.equal(table.key[0], 'run_id', table.name)
})
