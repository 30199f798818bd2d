import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { coerceRow, type Store } from '../../src/store/index.js'
import { embeddedEngine, type EngineUnderTest } from '../support/engines.js'
import { hopRow } from '../support/rows.js'

let engine: EngineUnderTest
let store: Store
before(async () => {
  engine = await embeddedEngine()
  store = await engine.open()
})
after(() => engine.dispose())

test('a poison row (tokens 1e300, kind 1e300, NaN, a number for a string) is clamped to its columns and inserts; unclamped, it fails the batch', async () => {
  const poison = () => ({ ...hopRow(1, { run_id: 'poison', hop_id: 'p1' }), tokens_in: 1e300, tokens_out: -5, audio_ms: Number.NaN, status: 70_000, model: 42 as unknown as string }) as unknown as Record<string, unknown>
  const good = hopRow(2, { run_id: 'poison', hop_id: 'g1' }) as unknown as Record<string, unknown>
  // as it was: the whole batch, the good row with it, is refused
  await assert.rejects(store.client.insert({ table: 'hopwatch.hops', values: [good, poison()], format: 'JSONEachRow' }))
  const fixed = poison()
  assert.equal(coerceRow('hops', fixed), 5)
  assert.deepEqual([fixed.tokens_in, fixed.tokens_out, fixed.audio_ms, fixed.status, fixed.model], [4_294_967_295, 0, 0, 65_535, '42'])
  await store.client.insert({ table: 'hopwatch.hops', values: [good, fixed], format: 'JSONEachRow' })
  const rs = await store.client.query({ query: "SELECT hop_id, tokens_in FROM hopwatch.hops WHERE run_id = 'poison' ORDER BY hop_id", format: 'JSONEachRow' })
  assert.deepEqual(await rs.json(), [{ hop_id: 'g1', tokens_in: good.tokens_in }, { hop_id: 'p1', tokens_in: 4_294_967_295 }])
  const span = { run_id: 'poison', kind: 1e300, status_code: -1, start_us: Infinity } as Record<string, unknown>
  coerceRow('spans', span)
  assert.deepEqual([span.kind, span.status_code, span.start_us, span.name], [255, 0, 0, ''])
})
