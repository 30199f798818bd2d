import assert from 'node:assert/strict'
import { test } from 'node:test'
import { experiencedLatencyMs, loadScenarios, ramp } from '../../src/loadgen/index.js'
import { runAgainstSim } from '../support/load.js'

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

test('a compressed ramp steps 10, 13, 16, 20, 25, and response latency rises once the planted LLM bottleneck saturates', async (t) => {
  const result = await runAgainstSim(
    {
      services: [
        { name: 'stt', kind: 'stt', latency: { median_ms: 40 }, wer: { base: 0, growth: 0 } },
        // compressed 30×, a conversation keeps about half an LLM worker busy: 6 workers saturate at about 12
        { name: 'llm', kind: 'llm', workers: 6, queue: 10_000, ttft: { median_ms: 150 }, tokens_per_s: 100 },
        { name: 'tts', kind: 'tts', ttfb: { median_ms: 40 }, realtime_factor: 0.02 },
        { name: 'backend', kind: 'backend', latency: { median_ms: 20 } },
      ],
    },
    { steps: ramp({ start: 10, factor: 1.25, step_s: 60, max: 25 }), scenarios: await loadScenarios(['booking', 'faq']), timeScale: 30 },
  )
  assert.deepEqual(result.steps.map((s) => s.target_load), [10, 13, 16, 20, 25])
  // a step whose load could not be kept (a busy machine) must say so: it is then no evidence, never a silent shortfall
  for (const s of result.steps) assert.ok(s.achieved_load >= 0.9 * s.target_load || /conversations were kept going/.test(s.invalid_reason), `step ${s.step}: achieved ${s.achieved_load} of ${s.target_load}, invalid_reason '${s.invalid_reason}'`)
  const byStep = (step: number) => result.turns.filter((t) => t.step === step).map(experiencedLatencyMs).filter((x): x is number => x !== undefined)
  const first = median(byStep(0))
  const last = median(byStep(4))
  // measured on a saturated host, the two ends say nothing about the system: the recorded reason is the answer then
  const invalid = [result.steps[0], result.steps[4]].filter((s) => s !== undefined && s.invalid_reason !== '')
  if (invalid.length > 0) {
    t.diagnostic(`cannot compare the ends: ${invalid.map((s) => `step ${s!.step}: ${s!.invalid_reason}`).join('; ')}`)
    return
  }
  assert.ok(last > 1.5 * first, `median response latency ${first.toFixed(0)} ms at 10 → ${last.toFixed(0)} ms at 25`)
})

test('every hop of a run joins a turn on conversation and turn, and a completed turn has exactly the hops it made', async () => {
  const result = await runAgainstSim(
    {
      services: [
        { name: 'stt', kind: 'stt', latency: { median_ms: 30 } },
        { name: 'llm', kind: 'llm', ttft: { median_ms: 50 }, tokens_per_s: 400 },
        { name: 'tts', kind: 'tts', ttfb: { median_ms: 30 }, realtime_factor: 0.02 },
        { name: 'backend', kind: 'backend', latency: { median_ms: 10 } },
      ],
    },
    { steps: ramp({ start: 4, factor: 2, step_s: 60, max: 4 }), scenarios: await loadScenarios(['booking', 'support']), timeScale: 20 },
  )
  const key = (c: string, t: number) => `${c}#${t}`
  const turns = new Map(result.turns.map((t) => [key(t.conversation_id, t.turn), t]))
  assert.ok(result.turns.length >= 4)
  for (const hop of result.hops) assert.ok(turns.has(key(hop.conversation_id, hop.turn)), `hop ${hop.component} ${hop.conversation_id}#${hop.turn} has no turn`)
  const hopsPerTurn = new Map<string, number>()
  for (const hop of result.hops) hopsPerTurn.set(key(hop.conversation_id, hop.turn), (hopsPerTurn.get(key(hop.conversation_id, hop.turn)) ?? 0) + 1)
  for (const t of result.turns.filter((x) => x.success === 1)) assert.equal(hopsPerTurn.get(key(t.conversation_id, t.turn)), t.hop_count, `turn ${t.conversation_id}#${t.turn}`)
  // a tool turn is STT, LLM (tool call), backend, LLM (answer) and one or two TTS requests
  const toolTurn = result.turns.find((t) => t.success === 1 && t.scenario === 'booking' && t.turn === 1)
  assert.ok(toolTurn !== undefined && toolTurn.hop_count >= 5)
  assert.ok(result.turns.every((t) => t.success === 0 || (t.first_audio_us > t.user_end_us && t.user_end_us > t.user_start_us)))
})

test('--stop-on-breach ends a ramp after the first step that breaks the SLO', async () => {
  const result = await runAgainstSim(
    {
      services: [
        { name: 'stt', kind: 'stt', latency: { median_ms: 20 } },
        { name: 'llm', kind: 'llm', ttft: { median_ms: 400 }, tokens_per_s: 500 },
        { name: 'tts', kind: 'tts', ttfb: { median_ms: 20 }, realtime_factor: 0.01 },
        { name: 'backend', kind: 'backend', latency: { median_ms: 5 } },
      ],
    },
    { steps: ramp({ start: 6, factor: 2, step_s: 80, max: 24 }), scenarios: await loadScenarios(['faq']), stopOnBreach: { response_p95_ms: 300, success_min: 0.95 } },
  )
  assert.equal(result.steps.length, 1, 'the ramp of 6, 12, 24 stopped after its first step')
  assert.match(result.outcome.stoppedBy ?? '', /^step 0 \(6\) breached response p95 \d+ ms > 300 ms$/)
})
