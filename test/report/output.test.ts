import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RunMonitor } from '../../src/loadgen/index.js'
import { table } from '../../src/report/table.js'

test('a table right-aligns numbers on their digits with status markers in a slot of their own, and "-" among them', () => {
  const text = table(['step', 'llm p95', 'note'], [['0', '437 ms', 'a'], ['4', '1002 ms ▲', 'b'], ['5', '-', 'c'], ['6', '96 ms ?', 'd']])
  assert.equal(text, ['  step  llm p95    note', '     0   437 ms    a', '     4  1002 ms ▲  b', '     5        -    c', '     6    96 ms ?  d', ''].join('\n'))
})

test('the live line numbers steps from 0, as the store and the tables after the run do, and says done without a target', () => {
  const monitor = new RunMonitor('r', () => 0)
  try {
    const base = { elapsedS: 5, steps: 6, active: 10, turns: 20, errors: 0, hungUp: 0 }
    assert.match(monitor.liveLine({ ...base, step: 0, phase: 'ramp', target: 10 }), /  step 0 of 0–5 ramp 10  /)
    assert.match(monitor.liveLine({ ...base, step: 5, phase: 'ramp', target: 31 }), /  step 5 of 0–5 ramp 31  /)
    assert.match(monitor.liveLine({ ...base, step: 6, phase: 'done', target: 0 }), /  step 5 of 0–5 done  active/)
  } finally {
    monitor.dispose()
  }
})

test('a number or a change that rounds to nothing is shown as 0, never -0; a rise has its +', async () => {
  const { change, fixed } = await import('../../src/report/summary.js')
  assert.deepEqual([fixed(-0.3, 0), fixed(-0.04, 1), fixed(-1.6, 0), fixed(0.2, 0)], ['0', '0.0', '-2', '0'])
  assert.deepEqual([change(-0.4), change(0.4), change(864.6), change(-6.2)], ['0 ms', '0 ms', '+865 ms', '-6 ms'])
})
