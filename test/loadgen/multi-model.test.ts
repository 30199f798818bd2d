import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadScenarios, stages } from '../../src/loadgen/index.js'
import { runAgainstSim } from '../support/load.js'

test('multi-model callers ask a router, which splits requests by weight over two LLMs, and every hop joins its turn', async () => {
  const result = await runAgainstSim(
    {
      seed: 4,
      services: [
        { name: 'stt', kind: 'stt', latency: { median_ms: 20 } },
        { name: 'router', kind: 'router', latency: { median_ms: 2 }, routes: [{ service: 'llm-fast', weight: 3 }, { service: 'llm-large', weight: 1 }] },
        { name: 'llm-fast', kind: 'llm', ttft: { median_ms: 30 }, tokens_per_s: 500 },
        { name: 'llm-large', kind: 'llm', ttft: { median_ms: 60 }, tokens_per_s: 300 },
        { name: 'tts', kind: 'tts', ttfb: { median_ms: 20 }, realtime_factor: 0.01 },
        { name: 'backend', kind: 'backend', latency: { median_ms: 5 } },
      ],
    },
    // the step goes on until a dozen turns have ended, however busy the machine
    { architecture: 'multi-model', steps: stages({ stages: [{ target: 6, duration_s: 60 }] }), scenarios: await loadScenarios(['booking', 'faq']), minTurnsPerStep: 12 },
  )
  assert.ok(result.turns.length >= 10 && result.turns.every((t) => t.architecture === 'multi-model' && t.error_kind === ''), `${result.turns.length} turns`)
  // callers lose patience only when the machine itself is too busy to answer in time, and the step says so
  const impatient = result.turns.filter((t) => t.success !== 1)
  assert.ok(impatient.length === 0 || result.steps.every((s) => s.invalid_reason !== ''), `${impatient.length} turns unsuccessful on a valid step: ${JSON.stringify(impatient.slice(0, 3).map((t) => [t.hung_up, t.interrupted]))}`)
  const count = (upstream: string) => result.hops.filter((h) => h.upstream === upstream).length
  const routed = count('router')
  assert.equal(count('llm-fast') + count('llm-large'), routed, 'each routed request reached one LLM through the proxy')
  // three in four to the fast model: binomial bounds, 4σ
  const share = count('llm-fast') / routed
  assert.ok(Math.abs(share - 0.75) <= 4 * Math.sqrt((0.75 * 0.25) / routed), `${(share * 100).toFixed(0)} % of ${routed} to llm-fast`)
  const turns = new Set(result.turns.map((t) => `${t.conversation_id}#${t.turn}`))
  for (const hop of result.hops) assert.ok(turns.has(`${hop.conversation_id}#${hop.turn}`), `${hop.upstream} hop joins a turn (through the router by baggage)`)
})
