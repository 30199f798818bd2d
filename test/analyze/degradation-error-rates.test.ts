import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEGRADATION_DEFAULTS, judgeFamily, prepareSeries } from '../../src/analyze/degradation.js'
import { Rng } from '../../src/sim/random.js'
import { syntheticSteps, type SyntheticSeries } from '../support/synthetic.js'

/** Six series (the components and the turn) over seven steps, 200 samples a step, as a ramp gives them. */
const SERIES = 6
const BASE: SyntheticSeries = { medianMs: 400, p95OverMedian: 1.8, steps: 7, perStep: 200, turnsPerConversation: 5, rho: 0.5, conversationShare: 0.2 }
// 100 resamples a test keep a thousand analyses within a minute; the analyzer's 400 only make each standard error steadier
const options = { ...DEGRADATION_DEFAULTS, iterations: 100 }

function analyse(rng: Rng, planted?: SyntheticSeries['change']) {
  const family = Array.from({ length: SERIES }, (_, k) =>
    prepareSeries(`s${k}`, syntheticSteps(rng, { ...BASE, ...(k === 0 && planted !== undefined ? { change: planted } : {}) }), { ...options, seed: rng.int(1, 1e9) }),
  )
  return judgeFamily(family, options.alpha)
}

test('on clustered, autocorrelated latencies with no change, at most 1 % of analyses name a degradation', () => {
  const rng = new Rng(2026, 'null-runs')
  const runs = Number(process.env.HOPWATCH_MC_RUNS ?? 1000)
  let falseAlarms = 0
  for (let r = 0; r < runs; r++) if (analyse(rng).some((d) => d.degradedAt !== undefined)) falseAlarms++
  assert.ok(falseAlarms / runs <= 0.01, `${falseAlarms} of ${runs} null analyses named a degradation`)
})

test('a +50 % step change from step 3 with 200 turns a step is found in at least 95 % of analyses, at step 3 or 4', () => {
  const rng = new Rng(2026, 'planted-runs')
  const runs = Number(process.env.HOPWATCH_MC_RUNS ?? 1000) / 5
  let found = 0
  let atOrNext = 0
  let wrongSeries = 0
  for (let r = 0; r < runs; r++) {
    const result = analyse(rng, { fromStep: 3, factor: 1.5 })
    const at = result[0]?.degradedAt
    if (at !== undefined) found++
    if (at !== undefined && (at.step === 3 || at.step === 4)) atOrNext++
    if (result.slice(1).some((d) => d.degradedAt !== undefined)) wrongSeries++
  }
  assert.ok(found / runs >= 0.95, `found in ${found} of ${runs}`)
  assert.ok(atOrNext / runs >= 0.9, `at step 3 or 4 in ${atOrNext} of ${runs}`)
  assert.ok(wrongSeries / runs <= 0.01, `an unchanged series named in ${wrongSeries} of ${runs}`)
})
