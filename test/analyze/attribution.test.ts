import assert from 'node:assert/strict'
import { test } from 'node:test'
import { attribute, criticalPath, type PathHop, type TurnPath } from '../../src/analyze/attribution.js'

const hop = (component: string, start: number, end: number, extra: Partial<PathHop> = {}): PathHop => ({ component, start_us: start, request_end_us: start, first_payload_us: end, final_us: end, end_us: end, ...extra })

/** A cascaded turn with a tool call, in ms from the user's end of speech. */
function turn(stt: number, llm1: number, tool: number, llm2ttft: number, tts: number): TurnPath {
  const ms = 1000
  let t = 0
  const hops: PathHop[] = [hop('stt', -2000 * ms, stt * ms, { request_end_us: 0 })]
  t = stt + 5 // 5 ms of the agent's own work (network)
  hops.push(hop('llm', t * ms, (t + llm1) * ms))
  t += llm1 + 5
  hops.push(hop('backend', t * ms, (t + tool) * ms))
  t += tool + 5
  // the second LLM call streams on after TTS starts; the caller waits for TTS's first byte then
  hops.push(hop('llm', t * ms, (t + llm2ttft + 400) * ms, { first_payload_us: (t + llm2ttft) * ms }))
  t += llm2ttft + 5
  hops.push(hop('tts', t * ms, (t + tts + 800) * ms, { first_payload_us: (t + tts) * ms }))
  t += tts
  return { user_end_us: 1, first_audio_us: t * ms, hops: hops.map((h) => ({ ...h, start_us: h.start_us || 1 })) }
}

test('a turn\'s critical path splits its response time among the stages the caller waited on, network the rest', () => {
  const path = criticalPath(turn(200, 300, 50, 250, 100))
  assert.deepEqual(
    Object.fromEntries(Object.entries(path).map(([k, v]) => [k, Math.round(v / 1000)])),
    // the 5 ms between the second call's first token and TTS's start are the LLM's (it is still writing the
    // sentence TTS waits for); the three other 5 ms gaps are no hop's: network
    { stt: 200, llm: 555, backend: 50, tts: 100, network: 15 },
  )
})

test('attribution gives the growth to the component that grew, with shares adding up to the whole', () => {
  const baseline = Array.from({ length: 20 }, () => turn(200, 300, 50, 250, 100))
  const degraded = Array.from({ length: 20 }, () => turn(200, 900, 50, 850, 100))
  const a = attribute(baseline, degraded)
  assert.ok(a !== undefined)
  assert.ok(Math.abs(a.growth_ms - 1200) < 1)
  assert.ok(Math.abs(a.components.llm!.growth_ms - 1200) < 1)
  assert.ok(Math.abs(a.components.llm!.share - 1) < 1e-6)
  assert.ok(Math.abs(a.components.stt!.share) < 1e-6)
  const total = Object.values(a.components).reduce((s, c) => s + c.share, 0)
  assert.ok(Math.abs(total - 1) < 1e-9)
})

test('a router carrying the LLM gets only its own time; the LLM inside it gets the rest', () => {
  const ms = 1000
  const path = criticalPath({ user_end_us: 1, first_audio_us: 500 * ms, hops: [hop('router', 1, 400 * ms), hop('llm', 20 * ms, 390 * ms), hop('tts', 400 * ms, 600 * ms, { first_payload_us: 500 * ms })] })
  assert.deepEqual(Object.fromEntries(Object.entries(path).map(([k, v]) => [k, Math.round(v / 1000)])), { router: 30, llm: 370, tts: 100 })
})
