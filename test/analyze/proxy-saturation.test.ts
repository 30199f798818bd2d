import assert from 'node:assert/strict'
import { test } from 'node:test'
import { analyzeRun, type RunData } from '../../src/analyze/index.js'
import { stepsOnly } from '../support/run-data.js'
import type { AlertChangeRow } from '../../src/store/analysis.js'

const S = 1_000_000
/** Four 60 s steps, nothing measured: what is judged here is only which steps are evidence. */
function run(alerts: AlertChangeRow[]): RunData {
  return stepsOnly(
    [0, 1, 2, 3].map((i) => ({ step: i, phase: 'ramp', target_load: 10 * (i + 1), achieved_load: 10 * (i + 1), generator_limited: 0, invalid_reason: '', start_us: i * 60 * S, end_us: (i + 1) * 60 * S })),
    { alerts },
  )
}
const change = (at_s: number, state: string, component = 'proxy-a', rule = 'proxy_overloaded', value = 120): AlertChangeRow => ({ at_us: at_s * S, rule, state, severity: 'warning', component, value, threshold: 50, message: '' })

test('a step in which a proxy\'s own event loop lagged for a fifth of it or more is no evidence, and the reason names the proxy', () => {
  // proxy-a lags from 130 s (step 2) past the end of step 3; a 5 s blip of proxy-b in step 1 is below a fifth of it
  const a = analyzeRun(run([change(70, 'pending', 'proxy-b', 'proxy_overloaded', 80), change(75, 'resolved', 'proxy-b'), change(130, 'pending'), change(160, 'firing', 'proxy-a', 'proxy_overloaded', 310), change(250, 'resolved')]))
  assert.deepEqual(a.invalid_steps.map((s) => s.step), [2, 3])
  assert.match(a.invalid_steps[0]?.reason ?? '', /the proxy proxy-a was saturated \(its event-loop lag p99 reached 310 ms\) for 50 s of the step: its timestamps lag/)
  assert.match(a.invalid_steps[1]?.reason ?? '', /proxy-a was saturated .* for 60 s of the step/)
  assert.match(a.verdict, /rerun with the proxy on a less busy host, or one proxy per agent pod/)
})

test('an overload that never ends in the recording lasts to the end of the run; other alerts and other states do not make a step invalid', () => {
  const a = analyzeRun(run([change(200, 'firing'), change(10, 'firing', 'llm', 'component_p95'), change(20, 'firing', 'generator', 'generator_overloaded')]))
  assert.deepEqual(a.invalid_steps.map((s) => s.step), [3])
})
