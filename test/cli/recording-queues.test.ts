import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Recording } from '../../src/cli/recording.js'
import { agentTracesFor } from '../../src/cli/telemetry.js'
import type { OtlpSpan } from '../../src/telemetry/otlp/index.js'
import { validateConfig } from '../../src/config/index.js'
import { ADAPTER_NAMES } from '../../src/proxy/index.js'
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
