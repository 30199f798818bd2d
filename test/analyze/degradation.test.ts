import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEGRADATION_DEFAULTS, findDegradation, judgeFamily, prepareSeries, type StepSamples } from '../../src/analyze/degradation.js'
import { Rng } from '../../src/sim/random.js'

const rng = new Rng(5, 'degradation')
const latencies = (n: number, median: number) => Array.from({ length: n }, () => rng.latencyMs({ median_ms: median, p95_ms: median * 1.8 }))
const steps = (medians: number[], n = 200): StepSamples[] => medians.map((m, i) => ({ step: i, load: 10 + 5 * i, samples: latencies(n, m) }))

test('a latency that rises from step 3 and stays up degrades at step 3, against the two lowest loads as baseline', () => {
  const result = findDegradation(steps([300, 300, 300, 600, 700, 900]))
  assert.equal(result.degradedAt?.step, 3)
  assert.equal(result.degradedAt?.load, 25)
  assert.deepEqual(result.baseline?.steps, [0, 1])
  assert.deepEqual(result.steps.map((s) => s.status), ['baseline', 'baseline', 'ok', 'degraded', 'degraded', 'degraded'])
  const at = result.degradedAt!
  assert.ok(at.interval[0] > 0 && at.interval[0] < at.difference && at.difference < at.interval[1])
})

test('a flat latency never degrades', () => {
  const result = findDegradation(steps([300, 300, 300, 300, 300, 300]))
  assert.equal(result.degradedAt, undefined)
  assert.ok(result.steps.every((s) => s.status === 'baseline' || s.status === 'ok'))
})

test('a one-step blip is not degradation: the next step must confirm it', () => {
  const result = findDegradation(steps([300, 300, 700, 300, 300, 800, 900]))
  assert.equal(result.steps[2]?.status, 'blip')
  assert.equal(result.degradedAt?.step, 5)
})

test('the last step alone degrades only past the stricter bar: twice the minimum effect', () => {
  // +30 %: above the 20 % minimum, below the 40 % the last step needs alone
  const small = findDegradation(steps([300, 300, 300, 300, 390], 2000))
  assert.equal(small.degradedAt, undefined)
  assert.equal(small.steps[4]?.status, 'blip')
  const large = findDegradation(steps([300, 300, 300, 300, 900], 2000))
  assert.equal(large.degradedAt?.step, 4)
})

test('a rise smaller than the minimum effect (20 %, and at least 50 ms) is not degradation, however significant', () => {
  assert.equal(findDegradation(steps([300, 300, 330, 330, 330], 2000)).degradedAt, undefined)
  // +40 % of a 100 ms p95 is 40 ms: under the 50 ms floor
  assert.equal(findDegradation(steps([56, 56, 78, 78, 78], 2000)).degradedAt, undefined)
})

test('steps with fewer than 100 samples, or whose measurement was not valid, are reported and never judged', () => {
  const data = steps([300, 300, 300, 900, 900, 900])
  data[2] = { ...data[2]!, samples: data[2]!.samples.slice(0, 99) }
  data[3] = { ...data[3]!, invalid: 'the host\'s CPU was saturated (99 %)' }
  const result = findDegradation(data)
  assert.equal(result.steps[2]?.status, 'too_few')
  assert.equal(result.steps[3]?.status, 'invalid')
  assert.equal(result.steps[3]?.reason, 'the host\'s CPU was saturated (99 %)')
  assert.equal(result.degradedAt?.step, 4)
})

test('an invalid lowest step does not become the baseline: the lowest valid ones do, and say so', () => {
  const data = steps([900, 300, 300, 300, 300])
  data[0] = { ...data[0]!, invalid: 'the generator\'s event loop lagged (p99 140 ms)' }
  const result = findDegradation(data)
  assert.deepEqual(result.baseline?.steps, [1, 2])
  assert.equal(result.degradedAt, undefined)
})

test('without a usable step there is no baseline and no verdict, only the steps and why', () => {
  const result = findDegradation(steps([300], 10))
  assert.equal(result.baseline, undefined)
  assert.equal(result.degradedAt, undefined)
  assert.equal(result.steps[0]?.status, 'too_few')
})

test('judged as one family, more series make each test stricter (Holm), and the same data give the same verdict', () => {
  const data = steps([300, 300, 300, 330 * 1.2, 330 * 1.2, 330 * 1.2], 150)
  const alone = judgeFamily([prepareSeries('a', data)])[0]!
  const again = judgeFamily([prepareSeries('a', data)])[0]!
  assert.deepEqual(alone.steps.map((s) => s.p_adjusted), again.steps.map((s) => s.p_adjusted))
  const flat = Array.from({ length: 20 }, (_, k) => prepareSeries(`flat${k}`, steps([300, 300, 300, 300, 300, 300], 150)))
  const crowded = judgeFamily([prepareSeries('a', data), ...flat])[0]!
  for (const [i, s] of crowded.steps.entries()) if (!Number.isNaN(s.p)) assert.ok(s.p_adjusted >= (alone.steps[i]?.p_adjusted ?? 0))
})

test('a word error rate is judged by its mean, against an absolute rise of 0.05', () => {
  const wer = (mean: number): number[] => Array.from({ length: 300 }, () => Math.max(0, mean + (rng.next() - 0.5) * 0.1))
  const data: StepSamples[] = [0.02, 0.02, 0.02, 0.04, 0.04, 0.2, 0.3].map((m, i) => ({ step: i, load: i, samples: wer(m) }))
  const result = findDegradation(data, { ...DEGRADATION_DEFAULTS, mean: true, tolerance: 0, minEffect: 0.05 })
  assert.equal(result.degradedAt?.step, 5)
})
