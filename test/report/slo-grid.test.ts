import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEFAULT_SLOS, type Analysis } from '../../src/analyze/index.js'
import { sloGrid } from '../../src/report/slo-grid.js'

type Step = Analysis['steps'][number]
const turns = (n: number, p95: number, success: number): Step['turns'] => ({ step: 0, turns: n, answered: n, p50_ms: p95 / 2, p95_ms: p95, p99_ms: p95 * 1.2, success, interrupted: 0, hung_up: 0, wer: 0, bands: [n, 0, 0, 0, 0], conversations: n / 4, errors: 0 })
const llm = (n: number, p95: number) => ({ llm: { n, p50_ms: p95 / 2, p95_ms: p95, p99_ms: p95, error_rate: 0, censored_share: 0, status: 'ok' } })
const step = (step: number, load: number, extra: Partial<Step>): Step => ({ step, phase: 'ramp', load, achieved: load, generator_limited: false, turns: undefined, components: {}, errors_by_kind: {}, network_p95_ms: null, ...extra })

test('the SLO grid marks ✗ where a breach is, – where a step is invalid or has too few samples, ✓ where it held', () => {
  const analysis = {
    slos: DEFAULT_SLOS,
    steps: [
      step(0, 10, { turns: turns(200, 900, 200), components: llm(200, 700) }),
      step(1, 20, { turns: turns(40, 1800, 40), components: llm(40, 1700) }),
      step(2, 30, { turns: turns(300, 2100, 300), components: llm(300, 1900), invalid: 'the host CPU was saturated' }),
      step(3, 40, { turns: turns(300, 2400, 250), components: llm(300, 2000) }),
    ],
    breaches: [
      { step: 3, load: 40, slo: 'response p95', value: 2400, limit: 1500 },
      { step: 3, load: 40, slo: 'llm p95', value: 2000, limit: 1500 },
      { step: 3, load: 40, slo: 'success', value: 250 / 300, limit: 0.95 },
    ],
  } as unknown as Analysis
  const grid = Object.fromEntries(sloGrid(analysis, 100).map((r) => [r.name, r.cells.map((c) => c.state)]))
  assert.deepEqual(grid['response p95'], ['held', 'not_judged', 'not_judged', 'broken'])
  assert.deepEqual(grid['llm p95'], ['held', 'not_judged', 'not_judged', 'broken'])
  assert.deepEqual(grid.success, ['held', 'not_judged', 'not_judged', 'broken'])
  assert.deepEqual(grid['stt p95'], ['not_judged', 'not_judged', 'not_judged', 'not_judged'], 'a component with no hops is never judged')
  assert.equal(sloGrid(analysis, 100).find((r) => r.name === 'success')?.objective, 'success ≥ 95 %')
})
