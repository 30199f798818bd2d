import assert from 'node:assert/strict'
import { test } from 'node:test'
import { findDegradation, type StepSamples } from '../../src/analyze/degradation.js'
import { Rng } from '../../src/sim/random.js'

const rng = new Rng(5, 'degradation')
const latencies = (n: number, median: number) => Array.from({ length: n }, () => rng.latencyMs({ median_ms: median, p95_ms: median * 1.8 }))
const steps = (medians: number[], n = 200): StepSamples[] => medians.map((m, i) => ({ step: i, load: 10 + 5 * i, samples: latencies(n, m) }))

test('a latency that rises from step 3 and stays up degrades at step 3', () => {
  const result = findDegradation(steps([300, 300, 300, 600, 700, 900]))
  assert.equal(result.degradedAt?.step, 3)
  assert.equal(result.degradedAt?.load, 25)
  assert.deepEqual(result.baseline?.steps, [0, 1])
  assert.deepEqual(result.steps.map((s) => s.status), ['baseline', 'baseline', 'ok', 'degraded', 'degraded', 'degraded'])
})

test('a flat latency never degrades', () => {
  const result = findDegradation(steps([300, 300, 300, 300, 300, 300]))
  assert.equal(result.degradedAt, undefined)
  assert.ok(result.steps.every((s) => s.status === 'baseline' || s.status === 'ok'))
})

test('a one-step blip is not degradation', () => {
  const result = findDegradation(steps([300, 300, 700, 300, 300, 800, 900]))
  assert.equal(result.steps[2]?.status, 'blip')
  assert.equal(result.degradedAt?.step, 5)
})

test('a rise smaller than the tolerance is not degradation, however significant', () => {
  const result = findDegradation(steps([300, 300, 330, 330, 330], 2000))
  assert.equal(result.degradedAt, undefined)
})

test('steps with too few samples or a limited generator are reported as such and not judged', () => {
  const data = steps([300, 300, 300, 900, 900])
  data[2] = { ...data[2]!, samples: data[2]!.samples.slice(0, 5) }
  data[3] = { ...data[3]!, generatorLimited: true }
  const result = findDegradation(data)
  assert.equal(result.steps[2]?.status, 'too_few')
  assert.equal(result.steps[3]?.status, 'generator_limited')
  assert.equal(result.degradedAt?.step, 4)
})

test('without enough usable steps for a baseline there is no verdict, only the steps', () => {
  const result = findDegradation(steps([300], 10))
  assert.equal(result.baseline, undefined)
  assert.equal(result.degradedAt, undefined)
  assert.equal(result.steps[0]?.status, 'too_few')
})
