import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError } from '../../src/config/index.js'
import { presetConfig, validateSimConfig } from '../../src/sim/index.js'

function problems(raw: unknown): string[] {
  try {
    validateSimConfig(raw, 'sim.yaml')
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    assert.equal(err.code, 'HW_CONFIG_INVALID')
    return err.problems.map((p) => `${p.path}: ${p.message}; ${p.fix}`)
  }
  return []
}

test('a malformed simulator config names every bad field with its fix', () => {
  const found = problems({
    services: [
      { name: 'llm', kind: 'llm', workers: 0, ttft: { median_ms: 500, p95_ms: 100 }, errors: { rate: 1.5, kind: 502 } },
      { name: 'api', kind: 'backend', ttft: { median_ms: 10 } },
      { name: 'x', kind: 'tss' },
      { name: 'llm', kind: 'stt' },
    ],
  })
  assert.deepEqual(found, [
    'services[0].workers: must be from 1 to 1000000; use a whole number from 1 to 1000000',
    'services[0].errors.rate: must be from 0 to 1; use a fraction from 0 to 1, e.g. 0.02 for 2 %',
    'services[0].errors.kind: must be one of 500, 429, 503, timeout, reset; did you mean "500"?',
    'services[0].ttft.p95_ms: must not be below median_ms (500); set p95_ms at or above median_ms; equal values give a fixed time',
    'services[1].ttft: is not a known setting; remove it; known here: name, kind, port, process, workers, queue, reject_status, max_connections, errors, leak, slowdown, drop_connections, latency',
    'services[2].kind: must be one of stt, llm, tts, s2s, backend, router; did you mean "tts"?',
    'services[3].name: is used by another service; give each service its own name',
  ])
})

test('a service config is filled with its kind\'s defaults; a median alone is a fixed time', () => {
  const config = validateSimConfig({ services: [{ name: 'api', kind: 'backend', latency: { median_ms: 50 } }, { name: 'llm', kind: 'llm' }] }, 'sim.yaml')
  assert.deepEqual(config.services[0]?.latency, { median_ms: 50, p95_ms: 50 })
  assert.equal(config.services[0]?.reject_status, 503)
  assert.equal(config.services[1]?.reject_status, 429)
  assert.deepEqual(config.services[1]?.ttft, { median_ms: 300, p95_ms: 700 })
  assert.equal(config.seed, 1)
})

test('the default preset makes the LLM the first bottleneck and caps the backend at 100 concurrent requests', () => {
  const config = presetConfig('default')
  const byName = new Map(config.services.map((s) => [s.name, s]))
  const llm = byName.get('llm')!
  const backend = byName.get('backend')!
  assert.deepEqual(
    [...byName.keys()].sort(),
    ['backend', 'llm', 's2s', 'stt', 'tts'],
  )
  // the LLM holds a worker for its whole answer: the fewest workers for the longest service
  for (const other of ['stt', 'tts']) assert.ok(llm.workers * 4 <= byName.get(other)!.workers, `llm has far fewer workers than ${other}`)
  assert.equal(backend.workers, 100)
  assert.equal(backend.queue, 0)
  assert.equal(backend.reject_status, 503)
})

test('the multi-model preset routes three in four requests to the fast model and the rest to the large one', () => {
  const config = presetConfig('multi-model')
  const router = config.services.find((s) => s.kind === 'router')!
  assert.deepEqual(router.routes.map((r) => [r.service, r.weight]), [['llm-fast', 3], ['llm-large', 1]])
  assert.ok(config.services.find((s) => s.name === 'llm-large')!.workers < config.services.find((s) => s.name === 'llm-fast')!.workers)
})
