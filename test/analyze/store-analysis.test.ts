import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { analyzeStoredRun, quantile, type Analysis } from '../../src/analyze/index.js'
import { headline } from '../../src/analyze/headline.js'
import { queryJsonLines, type Store } from '../../src/store/index.js'
import type { StepRecord, TurnRecord } from '../../src/types.js'
import { ENGINES, type EngineUnderTest } from '../support/engines.js'
import { hopRow } from '../support/rows.js'

/** LLM time to first token per step (ms): flat, then a planted rise from step 3; STT flat at 200 ms throughout. */
const LLM_MS = [300, 300, 300, 600, 900, 1300]
const STT_MS = 200
/** enough for a p95 (the analyzer judges no step with fewer than 100) */
const TURNS_PER_STEP = 120
const LOADS = [10, 13, 16, 20, 25, 31]

async function plantRun(store: Store, runId: string): Promise<void> {
  const hops: object[] = []
  const turns: TurnRecord[] = []
  const steps: StepRecord[] = []
  const t0 = 1_790_000_000_000_000
  let i = 0
  LLM_MS.forEach((llmMs, step) => {
    steps.push({ run_id: runId, step, phase: 'ramp', load_model: 'closed', target_load: LOADS[step]!, achieved_load: LOADS[step]!, start_us: t0 + step * 60e6, end_us: t0 + (step + 1) * 60e6, shard: '1/1', started: TURNS_PER_STEP, late_starts: 0, dropped_starts: 0, lateness_p99_ms: 1, generator_lag_p99_ms: 10, generator_cpu: 0.2, generator_limited: 0, invalid_reason: '', host_cpu: 0.5 })
    for (let k = 0; k < TURNS_PER_STEP; k++, i++) {
      // a little spread, so percentiles and ranks are not degenerate
      const jitter = (k % 5) * 1000
      const userEnd = t0 + step * 60e6 + k * 0.45e6
      const sttUs = STT_MS * 1000 + jitter
      const llmUs = llmMs * 1000 + jitter
      const conversation = `c-${step}-${k}`
      // at the last load half the turns fail: the LLM answers 500
      const failed = step === 5 && k % 2 === 0
      // and at step 4 every 40th LLM call times out at the proxy 1.2 s in: censored, a lower bound of 1.2 s
      const timedOut = step === 4 && k % 40 === 39
      hops.push(hopRow(i, { run_id: runId, conversation_id: conversation, turn: 1, hop_id: `s${i}`, component: 'stt', upstream: 'stt', start_us: userEnd - 2e6, request_end_us: userEnd, final_us: userEnd + sttUs, end_us: userEnd + sttUs }))
      const llmStart = userEnd + sttUs
      hops.push(hopRow(i, { run_id: runId, conversation_id: conversation, turn: 1, hop_id: `l${i}`, component: 'llm', upstream: 'llm', start_us: llmStart, request_end_us: llmStart + 100, first_payload_us: timedOut ? 0 : llmStart + llmUs, end_us: timedOut ? llmStart + 1.2e6 : llmStart + llmUs + 500_000, ...(failed ? { status: 500, error_kind: 'upstream_status' } : timedOut ? { status: 0, error_kind: 'timeout' } : {}) }))
      // the agent lists the models at each session start: auxiliary, with a 2 ms "first payload" that must not count
      hops.push(hopRow(i, { run_id: runId, conversation_id: conversation, turn: 1, hop_id: `m${i}`, component: 'llm', upstream: 'llm', method: 'GET', route: '/v1/models', auxiliary: 1, start_us: userEnd - 3e6, request_end_us: userEnd - 3e6, first_payload_us: userEnd - 3e6 + 2000, end_us: userEnd - 3e6 + 2500, ...(k % 3 === 0 ? { status: 404, error_kind: 'upstream_status' } : {}) }))
      turns.push({ run_id: runId, conversation_id: conversation, turn: 1, scenario: 'faq', step, architecture: 'cascaded', user_start_us: userEnd - 2e6, user_end_us: userEnd, first_audio_us: llmStart + llmUs, end_us: llmStart + llmUs + 3e6, success: failed ? 0 : 1, interrupted: 0, hung_up: 0, wer: 0.05, error_kind: failed ? 'llm_status' : '', hop_count: 2, late_us: 0, persona: 'typical', transcript: 'what time do you open' })
    }
  })
  await store.client.insert({ table: 'hopwatch.hops', values: hops, format: 'JSONEachRow' })
  // the same hops as the proxy alone would record them: no generator, no turns, no steps
  await store.client.insert({ table: 'hopwatch.hops', values: hops.map((h) => ({ ...h, run_id: `${runId}-hops-only` })), format: 'JSONEachRow' })
  await store.client.insert({ table: 'hopwatch.runs', values: [{ run_id: `${runId}-hops-only`, name: 'proxy', source: 'proxy', started_us: t0 - 1, ended_us: t0, hopwatch_version: 'test', config_json: '{}', updated_us: t0 }], format: 'JSONEachRow' })
  await store.client.insert({ table: 'hopwatch.turns', values: turns, format: 'JSONEachRow' })
  await store.client.insert({ table: 'hopwatch.steps', values: steps, format: 'JSONEachRow' })
  // the agent leaks 100 MB over the six minutes under a 20 MB GC sawtooth, sampled every 2 s; its CPU grows with load
  const samples: object[] = []
  for (let t = 0; t <= 360; t += 2) {
    const at_us = t0 + t * 1e6
    const row = (metric: string, value: number) => samples.push({ run_id: runId, at_us, target: 'agent', kind: 'process', metric, value })
    row('rss_bytes', (400 + (100 * t) / 360 + (t % 30) * (20 / 30)) * 1024 * 1024)
    row('memory_limit_bytes', 1024 * 1024 * 1024)
    row('cpu_seconds', t * (0.2 + (0.4 * t) / 360))
    row('cpu_limit_cores', 1)
    row('up', 1)
  }
  await store.client.insert({ table: 'hopwatch.resource_samples', values: samples, format: 'JSONEachRow' })
  const alert = (at_us: number, state: string) => ({ run_id: runId, at_us, rule: 'component_p95_above_slo', state, severity: 'warning', component: 'llm', value: 1300, threshold: 1000, message: `llm p95 1300 ms (${state})` })
  await store.client.insert({ table: 'hopwatch.alerts', values: [alert(t0 + 250e6, 'pending'), alert(t0 + 280e6, 'firing'), alert(t0 + 360e6, 'resolved')], format: 'JSONEachRow' })
  await store.client.insert({ table: 'hopwatch.runs', values: [{ run_id: runId, name: 'planted', source: 'test', started_us: t0, ended_us: t0 + 360e6, hopwatch_version: 'test', config_json: '{}', updated_us: t0 }], format: 'JSONEachRow' })
}

for (const makeEngine of ENGINES) {
  describe(`the analysis of a stored run, on the ${makeEngine === ENGINES[0] ? 'embedded engine' : 'Debian ClickHouse server'}`, () => {
    let engine: EngineUnderTest
    let store: Store
    before(async () => {
      engine = await makeEngine()
      store = await engine.open()
      await plantRun(store, 'run-planted')
    })
    after(() => engine.dispose())

    test('reads the run\'s resource samples and alerts: the planted leak is rising, CPU saturates at the last step, the alert fired and resolved', async () => {
      const analysis = await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', 'run-planted')
      const memory = analysis?.resources?.trends.find((t) => t.target === 'agent' && t.metric === 'rss_bytes')
      assert.equal(memory?.verdict, 'rising')
      assert.ok(Math.abs((memory?.slope_per_hour ?? 0) / (1024 * 1024) - 1000) < 100, `${(memory?.slope_per_hour ?? 0) / 1024 / 1024} MB/h`)
      assert.equal(memory?.limit, 1024 * 1024 * 1024)
      // CPU: 0.2 + 0.8 t/360 cores, so 0.93 of 1 core over the last step (300–360 s) and 0.8 over the one before
      assert.deepEqual(analysis?.resources?.saturation.map((x) => [x.step, x.resource]), [[5, 'cpu']])
      assert.deepEqual(analysis?.alerts.map((a) => a.state), ['pending', 'firing', 'resolved'])
      // a ramp: memory that grows may follow the load, so the headline claims no leak
      assert.equal(analysis?.resources?.constant_load, false)
      assert.doesNotMatch(analysis?.verdict ?? '', /memory/)
    })

    test('names the planted component first, at the step its latency rose, and leaves the flat one alone', async () => {
      const analysis = await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', undefined)
      assert.ok(analysis !== undefined)
      assert.equal(analysis.run.run_id, 'run-planted')
      assert.deepEqual({ ...analysis.first_degraded, rise_ms: undefined, interval_ms: undefined, p: undefined, ratio: undefined }, { component: 'llm', step: 3, load: 20, signal: 'latency', baseline_steps: [0, 1], rise_ms: undefined, interval_ms: undefined, p: undefined, ratio: undefined })
      // the rise is the planted 300 ms, inside its interval, and significant after Holm
      assert.ok(Math.abs((analysis.first_degraded?.rise_ms ?? 0) - 300) < 5, String(analysis.first_degraded?.rise_ms))
      assert.ok((analysis.first_degraded?.interval_ms?.[0] ?? 0) > 0)
      assert.ok((analysis.first_degraded?.p ?? 1) < 0.05)
      assert.equal(analysis.confidence, 'supported')
      assert.deepEqual(analysis.baseline, { steps: [0, 1], load: 10 })
      assert.equal(analysis.wer_degraded_at, null)
      assert.equal(analysis.degraded_at.stt, null)
      assert.equal(analysis.turn_degraded_at?.step, 3)
      assert.match(analysis.verdict, /^The system handles 25 concurrent conversations .*LLM degrades first, at 20: p95 \+30\d ms \(95 % interval \+\d+ ms to \+\d+ ms\) against the baseline at 10 and 13, p < 0\.0001; 100 % of the response-time growth; at 31 response p95 and success break their SLOs; at 31 it fails \(50 % of turns fail: llm_upstream_status_500\); agent's CPU is at 93 % of its 1 core at 31\.$/)
      // every planted turn's critical path is STT then LLM, back to back: the growth is all the LLM's
      assert.deepEqual(analysis.attribution?.baseline_steps, [0, 1])
      assert.deepEqual(analysis.attribution?.degraded_steps, [3, 4, 5])
      assert.ok(Math.abs((analysis.attribution?.components.llm?.share ?? 0) - 1) < 1e-6)
      assert.ok(Math.abs(analysis.attribution?.components.stt?.growth_ms ?? 1) < 1e-6)
    })

    test('the headline names the baseline the first component was judged against, where the turns\' baseline lies elsewhere', async () => {
      // a slow TTS makes long turns: the turns can be too few for a p95 at the low loads where the components have plenty
      const analysis = (await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', 'run-planted'))!
      const text = headline({ ...analysis, baseline: { steps: [4, 5], load: 25 } }, 100).text
      assert.match(text, /LLM degrades first, at 20: .* against the baseline at 10 and 13, p/, text)
    })

    test('judges a run of the proxy alone over time windows: the LLM that slowed, from when', async () => {
      // windows of 60 s from the first hop: the planted steps are 60 s long, their first hop 2 s into the step
      const analysis = await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', 'run-planted-hops-only', { windowS: 60 })
      assert.ok(analysis !== undefined)
      assert.equal(analysis.time_axis?.window_s, 60)
      assert.equal(analysis.steps.length, 6)
      assert.equal(analysis.first_degraded?.component, 'llm', analysis.verdict)
      assert.equal(analysis.first_degraded?.step, 3, analysis.verdict)
      assert.match(analysis.verdict, /^No load axis: .* LLM degrades first, from 03:00 after the first hop/)
    })

    test('steps of two generator shards add up, and a shard that began a step late makes it invalid, named', async () => {
      const t0 = 1_791_000_000_000_000
      const steps = [0, 1].flatMap((step) =>
        ['1/2', '2/2'].map((shard) => ({
          run_id: 'run-sharded', step, phase: 'ramp', load_model: 'closed', target_load: 5 * (step + 1), achieved_load: 5 * (step + 1), shard,
          start_us: t0 + step * 60e6 + (step === 1 && shard === '2/2' ? 9e6 : 0), end_us: t0 + (step + 1) * 60e6, started: 10, late_starts: 0, dropped_starts: 0,
          lateness_p99_ms: 1, generator_lag_p99_ms: 5, generator_cpu: 0.2, generator_limited: 0, invalid_reason: '', host_cpu: 0.3,
        })),
      )
      await store.client.insert({ table: 'hopwatch.steps', values: steps, format: 'JSONEachRow' })
      await store.client.insert({ table: 'hopwatch.hops', values: [hopRow(0, { run_id: 'run-sharded' })], format: 'JSONEachRow' })
      await store.client.insert({ table: 'hopwatch.runs', values: [{ run_id: 'run-sharded', name: 'sharded', source: 'load', started_us: t0, ended_us: t0, hopwatch_version: 'test', config_json: '{}', updated_us: t0 }], format: 'JSONEachRow' })
      const a = (await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', 'run-sharded')) as Analysis
      assert.deepEqual(a.steps.map((s) => s.load), [10, 20])
      assert.deepEqual(a.invalid_steps, [{ step: 1, load: 20, reason: 'shard 2/2 began it 9.0 s after shard 1/2' }])
    })

    test('aggregates per step in ClickHouse: exact percentiles, turn outcomes and the capacity', async () => {
      const analysis = await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', 'run-planted')
      assert.ok(analysis !== undefined)
      assert.equal(analysis.steps.length, 6)
      for (const [step, llmMs] of LLM_MS.entries()) {
        const s: Analysis['steps'][number] = analysis.steps[step]!
        // the table's percentiles are the verdict's (type 7): the planted values, the timed-out calls at 1.2 s (their
        // lower bound), and nothing of the answered errors
        const planted = Array.from({ length: TURNS_PER_STEP }, (_, k) => (step === 4 && k % 40 === 39 ? 1200 : llmMs + (k % 5))).filter((_, k) => !(step === 5 && k % 2 === 0))
        assert.equal(s.components.llm!.p95_ms, quantile(planted, 0.95), `llm p95 at ${step}`)
        assert.equal(s.components.llm!.p99_ms, quantile(planted, 0.99), `llm p99 at ${step}`)
        assert.equal(s.components.llm!.censored_share, step === 4 ? 3 / 120 : 0)
        assert.ok(s.components.stt!.p50_ms >= STT_MS && s.components.stt!.p50_ms <= STT_MS + 4)
        assert.equal(s.turns?.turns, TURNS_PER_STEP)
        assert.equal(s.turns?.success, step === 5 ? TURNS_PER_STEP / 2 : TURNS_PER_STEP)
        assert.ok(Math.abs((s.turns?.wer ?? 0) - 0.05) < 1e-9)
      }
      // 120 conversations started in each 60 s step, at time scale 1: 7200 an hour
      assert.deepEqual(analysis.capacity, { load: 25, step: 4, limited_by: 'response p95, success', conversations_per_hour: 7200 })
      assert.deepEqual(analysis.breaches.map((b) => [b.step, b.slo]), [[5, 'response p95'], [5, 'success']])
      // the k6-style ending: every SLO, ✓ or ✗, and the CI gate that follows from it
      const { renderSloChecks } = await import('../../src/report/summary.js')
      const { gateFailure } = await import('../../src/report/gate.js')
      const ending = renderSloChecks(analysis, undefined)
      assert.match(ending, /^\nSLOs at every load tested: 4 of 6 held\n/)
      assert.match(ending, /\n  ✗ response p95 ≤ 1500 ms: at load 31 \(step 5\): \d+ ms > 1500 ms\n/)
      assert.match(ending, /\n  ✗ success ≥ 95 %: at load 31 \(step 5\): 50\.0 % < 95 %\n/)
      for (const held of ['stt p95 ≤ 800 ms', 'llm p95 ≤ 1500 ms', 'tts p95 ≤ 600 ms', 'network p95 ≤ 300 ms']) assert.match(ending, new RegExp(`\\n  ✓ ${held}\\n`))
      assert.equal(renderSloChecks(analysis, 25).split('\n')[1], 'SLOs up to load 25: 6 of 6 held')
      assert.equal(gateFailure(analysis, 25), undefined)
      assert.equal(gateFailure(analysis, undefined), 'SLO breached at or below the highest load tested: response p95 at 31, success at 31')
      assert.deepEqual(analysis.failure, { step: 5, load: 31, error_rate: 0.5, hang_up_rate: 0, kinds: { llm_upstream_status_500: 60 } })
      assert.equal(analysis.steps[5]!.components.llm!.error_rate, 0.5)
      // bands: steps 0–2 answer in 0.5–1 s, step 5 in 1–2 s
      assert.deepEqual(analysis.steps[0]!.turns?.bands, [0, 120, 0, 0, 0])
      assert.deepEqual(analysis.steps[5]!.turns?.bands, [0, 0, 120, 0, 0])
    })
  })
}
