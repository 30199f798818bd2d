import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AlertEngine, alertmanagerSink, webhookSink, type AlertRow } from '../../src/alerts/index.js'
import { MemorySlopeRule } from '../../src/alerts/rules.js'
import { validateAlertsConfig } from '../../src/config/index.js'
import { hopEnded, turnEnded } from '../../src/events.js'
import type { TurnRecord } from '../../src/types.js'
import { hopRow } from '../support/rows.js'
import { listenHttp, readBody } from '../support/servers.js'

const S = 1_000_000
const T0 = 1_764_000_000_000_000

/** An LLM hop ending at `atUs` whose TTFT is `ttftMs`. */
const llmHop = (i: number, atUs: number, ttftMs: number) => hopRow(i, { start_us: atUs - ttftMs * 1000 - 10, first_payload_us: atUs - 10, end_us: atUs, final_us: atUs })

function engineWith(alerts: Record<string, unknown>, sinks: Parameters<typeof webhookSink>[0][] = []) {
  const rows: AlertRow[] = []
  const config = validateAlertsConfig({ alerts: { eval_s: 3600, window_s: 10, for_s: 5, repeat_s: 60, min_events: 5, sinks: { log: false }, ...alerts } }, 'test')
  const engine = new AlertEngine({ runId: 'r1', config, sinks: sinks.map((u) => webhookSink(u, 2000)), record: (r) => rows.push(r), generator: false, warn: () => {} })
  engine.start()
  return { engine, rows }
}

async function receiver() {
  const got: Array<{ status: string; alerts: Array<{ labels: Record<string, string> }>; hopwatch: { rule: string; key: string; state: string; repeat: boolean } }> = []
  const server = await listenHttp(async (req, res) => {
    got.push(JSON.parse((await readBody(req)).toString()))
    res.end('ok')
  })
  return { got, server }
}

test('a latency rule goes pending, fires after for_s, is repeated after repeat_s, and resolves: one webhook per change', async () => {
  const { got, server } = await receiver()
  const { engine, rows } = engineWith({ rules: { component_p95_ms: { llm: 1000 } } }, [server.url])
  try {
    let i = 0
    const feed = (fromS: number, toS: number, ttftMs: number) => {
      for (let t = fromS; t < toS; t += 0.5) hopEnded.publish(llmHop(i++, T0 + t * S, ttftMs))
    }
    feed(0, 10, 400)
    assert.deepEqual(engine.evaluate(T0 + 10 * S), [])
    feed(10, 20, 2500)
    assert.deepEqual(engine.evaluate(T0 + 20 * S).map((c) => c.state), ['pending'])
    feed(20, 24, 2500)
    assert.deepEqual(engine.evaluate(T0 + 24 * S), [], 'still pending: for_s is 5 s')
    feed(24, 26, 2500)
    const fired = engine.evaluate(T0 + 26 * S)
    assert.deepEqual(fired.map((c) => [c.rule, c.key, c.state]), [['component_p95_above_slo', 'llm', 'firing']])
    assert.equal(fired[0]?.since_us, T0 + 20 * S)
    feed(26, 50, 2500)
    engine.evaluate(T0 + 50 * S)
    feed(50, 90, 2500)
    engine.evaluate(T0 + 90 * S)
    feed(90, 110, 400)
    assert.deepEqual(engine.evaluate(T0 + 110 * S).map((c) => c.state), ['resolved'])
    await engine.stop()
    assert.deepEqual(rows.map((r) => r.state), ['pending', 'firing', 'resolved'])
    assert.deepEqual(got.map((g) => [g.status, g.hopwatch.repeat]), [['firing', false], ['firing', true], ['resolved', false]])
    assert.equal(got[0]?.alerts[0]?.labels.alertname, 'component_p95_above_slo')
    assert.equal(got[0]?.alerts[0]?.labels.component, 'llm')
    assert.equal(engine.stats().sent, 3)
  } finally {
    await server.close()
  }
})

test('a condition that clears while pending is stored as inactive and sent to nobody', async () => {
  const { got, server } = await receiver()
  const { engine, rows } = engineWith({ rules: { error_rate_max: 0.1 } }, [server.url])
  try {
    for (let k = 0; k < 20; k++) hopEnded.publish(hopRow(k, { end_us: T0 + k * 100_000, error_kind: k % 2 === 0 ? 'upstream_status' : '', status: k % 2 === 0 ? 500 : 200 }))
    assert.deepEqual(engine.evaluate(T0 + 2 * S).map((c) => c.state), ['pending'])
    for (let k = 20; k < 120; k++) hopEnded.publish(hopRow(k, { end_us: T0 + 2 * S + k * 10_000 }))
    assert.deepEqual(engine.evaluate(T0 + 4 * S).map((c) => c.state), ['inactive'])
    await engine.stop()
    assert.deepEqual(rows.map((r) => [r.rule, r.state]), [['error_rate_above_limit', 'pending'], ['error_rate_above_limit', 'inactive']])
    assert.equal(got.length, 0)
  } finally {
    await server.close()
  }
})

test('a caller hanging up is not an error, and a window with too few events is not judged', async () => {
  const { engine } = engineWith({})
  for (let k = 0; k < 30; k++) hopEnded.publish(hopRow(k, { end_us: T0 + k * 1000, error_kind: 'client_abort' }))
  for (let k = 0; k < 4; k++) hopEnded.publish(hopRow(100 + k, { component: 'tts', end_us: T0 + k * 1000, error_kind: 'reset' }))
  assert.deepEqual(engine.evaluate(T0 + S), [])
  await engine.stop()
})

test('turn success below the SLO fires; the run\'s end resolves what still fires and delivers it', async () => {
  const { got, server } = await receiver()
  const { engine, rows } = engineWith({ for_s: 0 }, [server.url])
  try {
    for (let k = 0; k < 20; k++) turnEnded.publish({ end_us: T0 + k * 1000, user_start_us: T0, success: k < 15 ? 1 : 0 } as TurnRecord)
    assert.deepEqual(engine.evaluate(T0 + S).map((c) => c.state), ['pending', 'firing'])
    await engine.stop()
    assert.deepEqual(rows.map((r) => r.state), ['pending', 'firing', 'resolved'])
    assert.match(rows[2]?.message ?? '', /75\.0 % of 20 turns succeeded.*the run ended/)
    assert.deepEqual(got.map((g) => g.status), ['firing', 'resolved'])
  } finally {
    await server.close()
  }
})

test('memory rising faster than the limit fires; a sawtooth of the same height does not', async () => {
  const { engine } = engineWith({ memory_window_s: 600, rules: { memory_slope_mb_per_h: 50 } })
  const MB = 1024 * 1024
  for (let t = 0; t <= 600; t += 5) {
    engine.observeSample({ run_id: 'r1', at_us: T0 + t * S, target: 'agent', kind: 'process', metric: 'rss_bytes', value: 500 * MB + t * (200 * MB / 3600) + ((t % 60) / 60) * 30 * MB })
    engine.observeSample({ run_id: 'r1', at_us: T0 + t * S, target: 'steady', kind: 'process', metric: 'rss_bytes', value: 500 * MB + ((t % 60) / 60) * 30 * MB })
  }
  const changes = engine.evaluate(T0 + 600 * S)
  assert.deepEqual(changes.map((c) => [c.rule, c.key, c.state]), [['memory_rising', 'agent', 'pending']])
  assert.ok(Math.abs((changes[0]?.value ?? 0) - 200) < 20, `${changes[0]?.value} MB/h`)
  await engine.stop()
})

test('memory that only rose, with no GC cycle in the window, does not fire: a heap grows that way toward its next collection', async () => {
  const { engine } = engineWith({ memory_window_s: 600, rules: { memory_slope_mb_per_h: 50 } })
  const MB = 1024 * 1024
  // 300 s of a heap rising 20 MB from 90 MB, never falling back: 240 MB/h, far past the limit, and significant
  for (let t = 0; t <= 300; t += 5) engine.observeSample({ run_id: 'r1', at_us: T0 + t * S, target: 'api', kind: 'process', metric: 'rss_bytes', value: 90 * MB + t * (20 * MB / 300) })
  assert.deepEqual(engine.evaluate(T0 + 300 * S), [])
  const rule = new MemorySlopeRule(50, 600e6)
  for (let t = 0; t <= 300; t += 5) rule.observeSample('api', 'rss_bytes', T0 + t * S, 90 * MB + t * (20 * MB / 300))
  const [finding] = rule.evaluate(T0 + 300 * S)
  assert.equal(finding?.active, false)
  assert.match(finding?.message ?? '', /^api memory rising, with no GC cycle seen yet, at 240\.0 MB\/h/)
  await engine.stop()
})

test('a failing sink is counted and warned about, and the other sink still gets every notice', async () => {
  const { got, server } = await receiver()
  const dead = await listenHttp((_req, res) => res.end())
  const deadUrl = dead.url
  await dead.close()
  const rows: AlertRow[] = []
  const warnings: string[] = []
  const config = validateAlertsConfig({ alerts: { for_s: 0, min_events: 1, sinks: { log: false } } }, 'test')
  const engine = new AlertEngine({ runId: 'r1', config, sinks: [alertmanagerSink(deadUrl, 500), webhookSink(server.url, 2000)], record: (r) => rows.push(r), generator: false, warn: (l) => warnings.push(l) })
  engine.start()
  try {
    turnEnded.publish({ end_us: T0, user_start_us: T0, success: 0 } as TurnRecord)
    engine.evaluate(T0 + S)
    await engine.stop()
    assert.deepEqual(got.map((g) => g.status), ['firing', 'resolved'])
    assert.ok(engine.stats().failed >= 2, JSON.stringify(engine.stats()))
    assert.equal(warnings.length, 1, 'one warning a minute per sink')
    assert.match(warnings[0] ?? '', /alert sink alertmanager .* failed/)
  } finally {
    await server.close()
  }
})

test('a proxy whose own event loop lags raises proxy_overloaded under its name; a generator process watches its own loop instead', async () => {
  const config = validateAlertsConfig({ alerts: { eval_s: 3600, window_s: 10, for_s: 0, repeat_s: 60, min_events: 5, sinks: { log: false }, rules: { proxy_lag_ms: 50 } } }, 'test')
  const rows: AlertRow[] = []
  const proxy = new AlertEngine({ runId: 'r1', config, sinks: [], record: (r) => rows.push(r), generator: false, proxy: 'pod-a/1', warn: () => {} })
  const generator = new AlertEngine({ runId: 'r1', config, sinks: [], record: () => {}, generator: true, proxy: 'pod-a/1', warn: () => {} })
  try {
    // the event loop is held for 300 ms (once the lag histogram's own timer runs): it sees a timer that fired that late
    await new Promise((r) => setTimeout(r, 50))
    const until = Date.now() + 300
    while (Date.now() < until) void 0
    await new Promise((r) => setTimeout(r, 30))
    const changes = proxy.evaluate(T0)
    assert.deepEqual(changes.map((c) => [c.rule, c.key, c.state]), [['proxy_overloaded', 'pod-a/1', 'pending'], ['proxy_overloaded', 'pod-a/1', 'firing']])
    assert.ok((changes[0]?.value ?? 0) >= 250, `lag p99 ${changes[0]?.value} ms`)
    assert.deepEqual([...new Set(rows.map((r) => [r.rule, r.component].join(' ')))], ['proxy_overloaded pod-a/1'], 'stored for the analysis')
    assert.ok(generator.evaluate(T0).every((c) => c.rule !== 'proxy_overloaded'), 'callers in the process: the generator rule watches the loop')
    // a calm loop resolves it
    await new Promise((r) => setTimeout(r, 50))
    assert.deepEqual(proxy.evaluate(T0 + 5 * S).map((c) => [c.rule, c.state]), [['proxy_overloaded', 'resolved']])
  } finally {
    await proxy.stop()
    await generator.stop()
  }
})
