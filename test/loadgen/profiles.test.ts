import assert from 'node:assert/strict'
import { test } from 'node:test'
import { profileSeconds, ramp, RAMP_DEFAULTS, shardSteps, spike, SPIKE_DEFAULTS, stages } from '../../src/loadgen/profiles.js'

test('a default ramp steps 10, 13, 16, 20, 25, … each the previous × 1.25, five minutes each, up to the max', () => {
  const steps = ramp({ ...RAMP_DEFAULTS, max: 100 })
  assert.deepEqual(steps.map((s) => s.target), [10, 13, 16, 20, 25, 31, 39, 49, 61, 76, 95])
  assert.ok(steps.every((s, i) => s.index === i && s.duration_s === 300 && s.phase === 'ramp'))
})

test('a spike holds a 30 % baseline, jumps to 2.5× the peak, and returns to the baseline', () => {
  const steps = spike({ ...SPIKE_DEFAULTS, peak: 100 })
  assert.deepEqual(steps.map((s) => [s.phase, s.target, s.duration_s]), [
    ['baseline', 30, 300],
    ['spike', 250, 720],
    ['recovery', 30, 600],
  ])
  assert.equal(profileSeconds(steps), 1620)
})

test('shards of a profile add up to every step\'s target exactly', () => {
  const steps = stages({ stages: [{ target: 10, duration_s: 60 }, { target: 7, duration_s: 60 }, { target: 2, duration_s: 60 }] })
  const shards = [0, 1, 2].map((i) => shardSteps(steps, i, 3))
  for (const [k, step] of steps.entries()) assert.equal(shards.reduce((sum, s) => sum + s[k]!.target, 0), step.target)
  assert.deepEqual(shards.map((s) => s[0]!.target), [4, 3, 3])
})
