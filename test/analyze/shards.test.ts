import assert from 'node:assert/strict'
import { test } from 'node:test'
import { analyzeRun, levelSamples } from '../../src/analyze/index.js'
import { shardProblem } from '../../src/analyze/shards.js'
import { queryJsonLines } from '../../src/store/index.js'
import type { StepRecord } from '../../src/types.js'
import { embeddedEngine } from '../support/engines.js'
import { stepsOnly } from '../support/run-data.js'
import { AMPLE_SERVICES, seededRun } from '../support/seeded-runs.js'

const step = (shards: Array<[string, number]>) => ({ start_us: 0, end_us: 60_000_000, shards: shards.map(([shard, start_us]) => ({ shard, start_us })) })

test('a step of several generators is evidence only when every shard began it, on time', () => {
  assert.equal(shardProblem(step([['1/3', 0], ['2/3', 100_000], ['3/3', 2_900_000]])), undefined, 'within 5 % of a 60 s step')
  assert.equal(shardProblem(step([['1/3', 0], ['3/3', 0]])), 'shard 2/3 recorded nothing in it')
  assert.equal(shardProblem(step([['1/3', 5_000_000], ['2/3', 0], ['3/3', 0]])), 'shard 1/3 began it 5.0 s after shard 2/3')
  assert.equal(shardProblem(step([['1/1', 0]])), undefined)
  assert.equal(shardProblem(step([['', 0]])), undefined, 'a run recorded before shards were')
})

test('the analysis names the missing shard and judges nothing on its steps', () => {
  const base = { phase: 'ramp', generator_limited: 0, invalid_reason: '', start_us: 0, end_us: 60_000_000 }
  const data = stepsOnly([0, 1, 2].map((i) => ({ ...base, step: i, target_load: 10 * (i + 1), achieved_load: 10 * (i + 1), shards: [{ shard: '1/3', start_us: 0 }, { shard: '3/3', start_us: 0 }] })))
  const a = analyzeRun(data)
  assert.deepEqual(a.invalid_steps.map((s) => s.reason), [0, 1, 2].map(() => 'shard 2/3 recorded nothing in it'))
  assert.equal(a.confidence, 'cannot_tell')
  assert.match(a.verdict, /shard 2\/3 recorded nothing in it\); rerun with every shard started on time/)
})

test('a comparison between runs leaves out the steps a shard missed, as the analysis does', async () => {
  const engine = await embeddedEngine()
  try {
    const store = await engine.open()
    const rows = seededRun({ runId: 'compare-shards', seed: 1, steps: [{ load: 10, phase: 'ramp', seconds: 120 }, { load: 13, phase: 'ramp', seconds: 120 }], services: AMPLE_SERVICES })
    // shard 1/2 recorded both steps; shard 2/2 recorded step 0 beside it, and nothing of step 1
    const first = rows.steps[0] as StepRecord
    const steps = [...rows.steps.map((s) => ({ ...s, shard: '1/2' })), { ...first, shard: '2/2' }]
    for (const [table, values] of [['hops', rows.hops], ['turns', rows.turns], ['steps', steps]] as const) {
      await store.client.insert({ table: `hopwatch.${table}`, values: values as unknown as Array<Record<string, unknown>>, format: 'JSONEachRow' })
    }
    const samples = await levelSamples((sql) => queryJsonLines(store, sql), 'hopwatch', 'compare-shards', 100)
    const loads = [...new Set([...samples.keys()].map((k) => k.split('@')[1]))]
    assert.deepEqual(loads, [String(first.target_load * 2)], 'step 0 (both shards) only')
  } finally {
    await engine.dispose()
  }
})
