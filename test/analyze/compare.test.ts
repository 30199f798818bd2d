import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { compareSamples, levelSamples } from '../../src/analyze/index.js'
import { loadScenarios, ramp } from '../../src/loadgen/index.js'
import { queryJsonLines, type Store } from '../../src/store/index.js'
import { embeddedEngine, type EngineUnderTest } from '../support/engines.js'
import { runAndAnalyse } from '../support/load.js'

let engine: EngineUnderTest
let store: Store
before(async () => {
  engine = await embeddedEngine()
  store = await engine.open()
})
after(() => engine.dispose())

const stack = (llmTtftMs: number) => ({
  services: [
    { name: 'stt', kind: 'stt', workers: 200, latency: { median_ms: 60, p95_ms: 100 } },
    { name: 'llm', kind: 'llm', workers: 200, ttft: { median_ms: llmTtftMs, p95_ms: llmTtftMs * 1.6 }, tokens_per_s: 200 },
    { name: 'tts', kind: 'tts', workers: 200, ttfb: { median_ms: 60, p95_ms: 100 }, realtime_factor: 0.05 },
    { name: 'backend', kind: 'backend', workers: 500, latency: { median_ms: 20, p95_ms: 40 } },
  ],
})

test('a run compared with itself has no regression; one with a slower planted LLM has one, in the LLM', async (t) => {
  // each step runs until 100 of its turns have ended: compare judges no p95 of fewer
  const plan = { steps: ramp({ start: 10, factor: 1.3, step_s: 120, max: 13 }), scenarios: await loadScenarios(['booking', 'faq']), timeScale: 30, minTurnsPerStep: 100 }
  const fast = await runAndAnalyse(store, stack(150), { ...plan, runId: 'cmp-fast' })
  const slow = await runAndAnalyse(store, stack(450), { ...plan, runId: 'cmp-slow' })
  assert.equal(fast.analysis.first_degraded, undefined)
  const q = (sql: string) => queryJsonLines(store, sql)
  const fastSamples = await levelSamples(q, 'hopwatch', 'cmp-fast', 2000)
  const slowSamples = await levelSamples(q, 'hopwatch', 'cmp-slow', 2000)
  // steps measured on a saturated host are no evidence, and compare leaves them out: with none left there is
  // nothing to compare, which must be because every level of one run was invalid (said, not silently passed)
  const invalid = [...fast.analysis.invalid_steps, ...slow.analysis.invalid_steps]
  if (fastSamples.size === 0 || slowSamples.size === 0) {
    assert.ok(invalid.length > 0, 'no samples although every step was valid')
    t.diagnostic(`cannot compare: ${invalid.map((s) => `step ${s.step}: ${s.reason}`).join('; ')}`)
    return
  }

  const self = compareSamples({ id: 'cmp-fast', samples: fastSamples }, { id: 'cmp-fast', samples: fastSamples })
  assert.deepEqual(self.regressions, [])
  assert.ok(self.rows.some((r) => r.name === 'llm' && r.verdict === 'same'))

  const slower = compareSamples({ id: 'cmp-slow', samples: slowSamples }, { id: 'cmp-fast', samples: fastSamples })
  const regressed = new Set(slower.regressions.map((r) => r.name))
  assert.ok(regressed.has('llm'), JSON.stringify(slower.rows.map((r) => [r.load, r.name, r.ratio.toFixed(2), r.verdict])))
  assert.ok(!regressed.has('stt') && !regressed.has('tts'), 'the components that did not change are not blamed')
  // and the other way round it is an improvement
  const faster = compareSamples({ id: 'cmp-fast', samples: fastSamples }, { id: 'cmp-slow', samples: slowSamples })
  assert.ok(faster.rows.some((r) => r.name === 'llm' && r.verdict === 'improvement'))
  assert.deepEqual(faster.regressions.filter((r) => r.name === 'llm'), [])
})
