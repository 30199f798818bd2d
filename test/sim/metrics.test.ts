import assert from 'node:assert/strict'
import { test } from 'node:test'
import { simulate } from '../support/sim.js'

/** The value of a sample in Prometheus text (the first series of that name). */
function sample(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)
  return match === null ? undefined : Number(match[1])
}

test('a service in its own process reports its queue depth, in-flight requests and its own RSS on /metrics', async () => {
  const sim = await simulate({ services: [{ name: 'api', kind: 'backend', process: 'separate', workers: 2, queue: 10, latency: { median_ms: 1500 } }] })
  try {
    const url = sim.url('api')
    const pending = Array.from({ length: 6 }, () => fetch(`${url}/v1/orders/1`).then((r) => r.arrayBuffer()))
    // the six requests reach the server in a moment; wait for the server to say so rather than for a fixed time
    let text = ''
    for (let i = 0; i < 100 && sample(text, 'hopwatch_sim_queue_depth') !== 4; i++) text = await (await fetch(`${url}/metrics`)).text()
    assert.equal(sample(text, 'hopwatch_sim_in_flight'), 2)
    assert.equal(sample(text, 'hopwatch_sim_queue_depth'), 4)
    assert.equal(sample(text, 'hopwatch_sim_workers'), 2)
    assert.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 10 * 1024 * 1024)
    assert.match(text, /service="api",kind="backend"/)
    await Promise.all(pending)
    const after = await (await fetch(`${url}/metrics`)).text()
    assert.match(after, /hopwatch_sim_requests_total\{outcome="ok",service="api",kind="backend"\} 6/)
    assert.equal(sample(after, 'hopwatch_sim_queue_depth'), 0)
  } finally {
    await sim.close()
  }
})
