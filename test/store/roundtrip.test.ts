import assert from 'node:assert/strict'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { BatchWriter, ClickHouseSink, queryJsonLines, Spill, type Store } from '../../src/store/index.js'
import { ENGINES, type EngineUnderTest } from '../support/engines.js'
import { ROWS_PER_SLICE } from '../../src/store/tsv.js'
import { hopRow } from '../support/rows.js'
import { AgentSpanAssembler, type SpanRow } from '../../src/telemetry/otlp/index.js'

/** The hop rows a run has in the store, by hop id. */
async function hopsById(store: Store, runId: string): Promise<Map<string, Record<string, unknown>>> {
  const back = new Map<string, Record<string, unknown>>()
  for await (const line of queryJsonLines(store, `SELECT * FROM hopwatch.hops WHERE run_id = '${runId}'`)) {
    const row = JSON.parse(line) as Record<string, unknown>
    back.set(row.hop_id as string, row)
  }
  return back
}

for (const makeEngine of ENGINES) {
  describe(`batch writer on the ${makeEngine === ENGINES[0] ? 'embedded engine' : 'Debian ClickHouse server'}`, () => {
    let engine: EngineUnderTest
    before(async () => {
      engine = await makeEngine()
    })
    after(() => engine.dispose())

    test('hop rows written in batches read back field for field', async () => {
      const store = await engine.open()
      const spill = new Spill(await mkdtemp(join(tmpdir(), 'hopwatch-spill-')), 1e9)
      await spill.init()
      const writer = new BatchWriter(new ClickHouseSink(store), spill, { queueRows: 10_000, batchRows: 100, flushMs: 50, retryMs: 100 })
      writer.start()
      const sent = Array.from({ length: 250 }, (_, i) => hopRow(i, { route: i === 7 ? "/v1/it's \\ quoted" : '/v1/chat/completions' }))
      for (const row of sent) writer.push('hops', row)
      await writer.close()
      assert.equal(writer.stats().tables.hops?.written, 250)

      const back = await hopsById(store, 'run-test')
      assert.equal(back.size, 250)
      for (const row of sent) assert.deepEqual(back.get(row.hop_id), { ...row })
    })

    test('a batch larger than an encoding slice (ROWS_PER_SLICE) reads back whole, row for row, non-ASCII text at the slices\' edges included', async () => {
      const store = await engine.open()
      const rows = Array.from({ length: 2 * ROWS_PER_SLICE + 50 }, (_, i) => hopRow(i, { run_id: 'run-slices', route: i % ROWS_PER_SLICE === 0 || i % ROWS_PER_SLICE === ROWS_PER_SLICE - 1 ? `/v1/日本語-é-${i}` : '/v1/chat/completions' }))
      await new ClickHouseSink(store).insert('hops', rows)
      const back = await hopsById(store, 'run-slices')
      assert.equal(back.size, rows.length)
      for (const row of rows) assert.deepEqual(back.get(row.hop_id), { ...row })
    })

    test('strings holding tabs, line breaks, NUL and backslashes read back as sent; columns a row leaves out, and a non-finite number, read back as their defaults', async () => {
      const store = await engine.open()
      const spill = new Spill(await mkdtemp(join(tmpdir(), 'hopwatch-spill-')), 1e9)
      await spill.init()
      const writer = new BatchWriter(new ClickHouseSink(store), spill, { queueRows: 1000, batchRows: 100, flushMs: 50, retryMs: 100 })
      const awkward = 'tab\there\nnew line\r\n\\n not a newline \\ back\u0000nul \\t é 日本語 \'"'
      const sent = [hopRow(0, { run_id: 'run-awkward', route: awkward, model: '\t\n', conversation_id: '\\' }), hopRow(1, { run_id: 'run-awkward', route: '' })]
      for (const row of sent) writer.push('hops', row)
      writer.push('alerts', { run_id: 'run-awkward', at_us: 5, rule: 'r', value: Number.NaN, threshold: Number.POSITIVE_INFINITY })
      await writer.close()
      assert.equal(writer.stats().tables.hops?.written, 2)
      assert.equal(writer.stats().tables.alerts?.written, 1)
      const back = await hopsById(store, 'run-awkward')
      for (const row of sent) assert.deepEqual(back.get(row.hop_id), { ...row })
      const alerts: unknown[] = []
      for await (const line of queryJsonLines(store, "SELECT * FROM hopwatch.alerts WHERE run_id = 'run-awkward'")) alerts.push(JSON.parse(line))
      assert.deepEqual(alerts, [{ run_id: 'run-awkward', at_us: 5, rule: 'r', state: '', severity: '', component: '', value: 0, threshold: 0, message: '' }])
    })

    test('agent span rows (attributes as JSON, quotes and non-ASCII included) read back field for field', async () => {
      const store = await engine.open()
      const spill = new Spill(await mkdtemp(join(tmpdir(), 'hopwatch-spill-')), 1e9)
      await spill.init()
      const writer = new BatchWriter(new ClickHouseSink(store), spill, { queueRows: 1000, batchRows: 100, flushMs: 50, retryMs: 100 })
      writer.start()
      const sent: SpanRow[] = []
      const assembler = new AgentSpanAssembler({ runId: 'run-spans', keepContent: true, holdMs: 0, maxHeld: 10, recordTurns: true, row: (table, row) => (table === 'spans' ? sent.push(row as SpanRow) : undefined) })
      assembler.ingest([
        { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', parentSpanId: '', name: 'turn', kind: 1, startUs: 1_800_000_000_000_000, endUs: 1_800_000_004_000_000, attributes: { 'turn.number': 3, 'conversation.id': 'conv-é', 'turn.user_bot_latency_seconds': 0.9 }, events: [{ atUs: 1_800_000_001_000_000, name: 'note', attributes: { text: 'it\'s "quoted" \\ and 日本語' } }], statusCode: 0, statusMessage: '', resource: { 'service.name': 'bot' }, scope: 'pipecat.turn' },
      ])
      for (const row of sent) writer.push('spans', row)
      await writer.close()
      const back: Record<string, unknown>[] = []
      for await (const line of queryJsonLines(store, "SELECT * FROM hopwatch.spans WHERE run_id = 'run-spans'")) back.push(JSON.parse(line) as Record<string, unknown>)
      assert.deepEqual(back, sent.map((r) => ({ ...r })))
      assert.equal(JSON.parse(back[0]?.events as string)[0].attributes.text, 'it\'s "quoted" \\ and 日本語')
    })
  })
}
