import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { AdminSink } from '../../src/cli/admin-client.js'
import { Recording } from '../../src/cli/recording.js'
import { agentTracesFor } from '../../src/cli/telemetry.js'
import type { OtlpSpan } from '../../src/telemetry/otlp/index.js'
import { validateConfig } from '../../src/config/index.js'
import { ADAPTER_NAMES, startProxy } from '../../src/proxy/index.js'
import { hopRow } from '../support/rows.js'

test('a flood of agent spans has its own queue: it is cut at its bound and counted, and not one of the proxy\'s own hops is dropped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-queues-'))
  try {
    // a store queue of 2,000 rows: the agents' queue is 1,000, and past it a queue's worth more may wait to spill
    const config = validateConfig({ proxy: { port: 0 }, upstreams: [{ name: 'llm', component: 'llm', adapter: 'openai', target: 'http://127.0.0.1:9', prefix: '/llm' }], store: { dir: join(dir, 'store'), queue_rows: 2000, spill_max_bytes: 4 * 1024 * 1024 } }, 'test', { adapters: ADAPTER_NAMES })
    const recording = await Recording.start(config, { runId: 'queues', source: 'test', load: false })
    const traces = agentTracesFor(config, recording, false)!
    // in one tick, as a burst of OTLP bodies would arrive: 20,000 spans through the receiver's assembler, then 300
    // hops of the proxy's own
    const burst: OtlpSpan[] = Array.from({ length: 20_000 }, (_, i) => ({ traceId: 'ab'.repeat(16), spanId: i.toString(16).padStart(16, '0'), parentSpanId: '', name: 'db.query', kind: 1, startUs: 1, endUs: 2, attributes: {}, events: [], statusCode: 0, statusMessage: '', resource: { 'service.name': 'agent' }, scope: 'x' }))
    traces.assembler.ingest(burst)
    for (let i = 0; i < 300; i++) recording.writer.push('hops', hopRow(i, { run_id: 'queues' }))
    traces.close()
    await recording.close()
    const stats = recording.stats()
    assert.equal(recording.writer.stats().tables.hops?.written, 300, JSON.stringify(recording.writer.stats().tables.hops))
    assert.equal(Object.values(recording.writer.stats().tables.hops?.dropped ?? {}).reduce((a, b) => a + b, 0), 0)
    const spans = stats.tables.spans!
    assert.ok(spans.dropped.queue_full > 0, `the flood was cut at its own bound: ${JSON.stringify(spans)}`)
    // written directly, or spilled (and maybe replayed since: replayed rows count as written too), or dropped
    assert.equal(spans.written - spans.replayed + spans.spilled + spans.dropped.queue_full, 20_000, 'every span row is accounted for')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a long admin query does not hold up recording: rows pushed while it runs are written before it ends', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-admin-'))
  try {
    const config = validateConfig({ proxy: { port: 0 }, upstreams: [{ name: 'llm', component: 'llm', adapter: 'openai', target: 'http://127.0.0.1:9', prefix: '/llm' }], store: { dir: join(dir, 'store') } }, 'test', { adapters: ADAPTER_NAMES })
    const recording = await Recording.start(config, { runId: 'admin', source: 'test', load: false })
    // a query that runs until its time limit (5 s): the order of events is the test, not their times
    let queryEnded = false
    const query = (async () => {
      for await (const _ of recording.sql('SELECT count() FROM numbers(1000000000000) SETTINGS max_execution_time = 5, timeout_overflow_mode = \'throw\'')) void _
    })()
      .catch(() => undefined)
      .finally(() => (queryEnded = true))
    await new Promise((r) => setTimeout(r, 300)) // the query is under way
    for (let i = 0; i < 100; i++) recording.writer.push('hops', hopRow(i, { run_id: 'admin' }))
    await recording.writer.flush()
    const writtenWhileQuerying = !queryEnded
    await query
    await recording.close()
    assert.equal(recording.writer.stats().tables.hops?.written, 100)
    assert.ok(writtenWhileQuerying, 'the rows waited for the admin query to end')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('rows another process sends through the admin API are cut to their table\'s columns and made to fit; hops and unknown tables are refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-rows-'))
  const config = validateConfig({ proxy: { port: 0 }, upstreams: [{ name: 'llm', component: 'llm', adapter: 'openai', target: 'http://127.0.0.1:9', prefix: '/llm' }], store: { dir: join(dir, 'store'), flush_ms: 50 } }, 'test', { adapters: ADAPTER_NAMES })
  const recording = await Recording.start(config, { runId: 'rows', source: 'test', load: false })
  const proxy = await startProxy({ config, runId: 'rows', admin: { rows: (table, rows) => recording.acceptRows(table, rows), sql: (s, signal) => recording.sql(s, signal) } })
  try {
    const send = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${proxy.adminUrl}/_hopwatch/rows`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', authorization: `Bearer ${proxy.adminToken}`, ...headers } })
    const turn = { run_id: 'rows', conversation_id: 'c1', turn: 1, step: 2, success: 1, hop_count: 1e300, wer: 0.1, transcript: 'hello', sneaky_column: 'x' }
    const ok = await send({ table: 'turns', rows: [turn, 'not a row'] })
    assert.deepEqual([ok.status, await ok.json()], [200, { accepted: 1 }])
    for (const table of ['hops', 'spans', 'system.users']) {
      const refused = await send({ table, rows: [turn] })
      assert.equal(refused.status, 400, table)
      assert.match(((await refused.json()) as { error: { message: string } }).error.message, /not taken from other processes/)
    }
    assert.equal((await send({ table: 'turns', rows: [turn] }, { authorization: 'Bearer wrong' })).status, 401)
    assert.equal((await send({ table: 'turns', rows: [turn] }, { origin: 'http://evil.example' })).status, 403)
    assert.equal((await send({ table: 'turns' })).status, 400)
    await recording.flush()
    const stored: string[] = []
    for await (const line of recording.sql("SELECT conversation_id, step, hop_count, transcript FROM hopwatch.turns WHERE run_id = 'rows'")) stored.push(line)
    assert.deepEqual(stored.map((l) => JSON.parse(l) as unknown), [{ conversation_id: 'c1', step: 2, hop_count: 4294967295, transcript: 'hello' }])
    // what another process's replay asks before inserting rows a failed POST may have stored: by key, read-only
    const sink = new AdminSink({ pid: process.pid, admin_url: proxy.adminUrl, admin_token: proxy.adminToken, started_us: 0 }, 'hopwatch')
    assert.deepEqual(await sink.present('turns', [turn, { ...turn, turn: 2 }, { ...turn, conversation_id: "c'2" }]), [true, false, false])
  } finally {
    await proxy.close()
    await recording.close()
    await rm(dir, { recursive: true, force: true })
  }
})
