import assert from 'node:assert/strict'
import { test } from 'node:test'
import { stages } from '../../src/loadgen/index.js'
import { runAgainstSim, scenario } from '../support/load.js'

const stack = (ttftMs: number) => ({
  services: [
    { name: 'stt', kind: 'stt', latency: { median_ms: 30 } },
    { name: 'llm', kind: 'llm', ttft: { median_ms: ttftMs }, tokens_per_s: 400 },
    { name: 'tts', kind: 'tts', ttfb: { median_ms: 30 }, realtime_factor: 0.02 },
    { name: 'backend', kind: 'backend', latency: { median_ms: 10 } },
  ],
})

test('with a fast agent no caller interrupts or hangs up, and every turn succeeds', async () => {
  const result = await runAgainstSim(stack(40), { steps: stages({ stages: [{ target: 4, duration_s: 40 }] }), scenarios: scenario('impatient') })
  assert.ok(result.turns.length >= 4)
  assert.deepEqual(
    result.turns.map((t) => [t.interrupted, t.hung_up, t.success]),
    result.turns.map(() => [0, 0, 1]),
  )
})

test('with an agent slower than the callers\' patience, they talk over it, repeat, and hang up', async () => {
  const result = await runAgainstSim(stack(6000), { steps: stages({ stages: [{ target: 3, duration_s: 20 }] }), scenarios: scenario('impatient') })
  // impatient: talks over the agent after 2 s of silence, once; the second silence ends the call
  const conversations = new Map<string, Array<[number, number]>>()
  for (const t of result.turns) conversations.set(t.conversation_id, [...(conversations.get(t.conversation_id) ?? []), [t.interrupted, t.hung_up]])
  assert.ok(conversations.size >= 3)
  for (const [id, turns] of conversations) assert.deepEqual(turns, [[1, 0], [0, 1]], `conversation ${id}`)
  assert.ok(result.turns.every((t) => t.success === 0 && t.first_audio_us === 0))
  // the interrupted turn's LLM request was aborted by the caller, not failed by the system
  const llm = result.hops.filter((h) => h.component === 'llm')
  assert.ok(llm.length > 0 && llm.every((h) => h.error_kind === 'client_abort'), JSON.stringify(llm.map((h) => h.error_kind)))
})
