import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadScenarios, stages } from '../../src/loadgen/index.js'
import { runAgainstSim } from '../support/load.js'

test('speech-to-speech callers hold one realtime session per call, a response per turn, each joined to its hop', async () => {
  const result = await runAgainstSim(
    { services: [{ name: 's2s', kind: 's2s', ttfb: { median_ms: 60 }, realtime_factor: 0.02 }] },
    { architecture: 's2s', steps: stages({ stages: [{ target: 3, duration_s: 40 }] }), scenarios: await loadScenarios(['faq']) },
  )
  assert.ok(result.turns.length >= 6, `${result.turns.length} turns`)
  assert.ok(result.turns.every((t) => t.success === 1 && t.architecture === 's2s' && t.first_audio_us > t.user_end_us), JSON.stringify(result.turns.map((t) => [t.success, t.error_kind])))
  const key = (c: string, t: number) => `${c}#${t}`
  const hops = new Map(result.hops.map((h) => [key(h.conversation_id, h.turn), h]))
  for (const t of result.turns) {
    const hop = hops.get(key(t.conversation_id, t.turn))
    assert.ok(hop !== undefined && hop.component === 's2s', `turn ${key(t.conversation_id, t.turn)} has its s2s hop`)
    // the proxy's first audio and the caller's are the same moment seen from two places
    assert.ok(hop.first_payload_us <= t.first_audio_us)
  }
})
