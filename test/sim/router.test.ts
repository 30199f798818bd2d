import assert from 'node:assert/strict'
import { test } from 'node:test'
import OpenAI from 'openai'
import { ConfigError } from '../../src/config/index.js'
import { validateSimConfig } from '../../src/sim/index.js'
import { simulate } from '../support/sim.js'

test('the simulated router streams each chat to the LLM serving the requested model, and routes can be re-pointed', async () => {
  const sim = await simulate({
    services: [
      { name: 'router', kind: 'router', routes: [{ service: 'small', model: 'small-model' }, { service: 'large', model: 'large-model', weight: 0 }] },
      { name: 'small', kind: 'llm', ttft: { median_ms: 5 }, tokens_per_s: 1000 },
      { name: 'large', kind: 'llm', ttft: { median_ms: 5 }, tokens_per_s: 1000 },
    ],
  })
  try {
    const client = new OpenAI({ apiKey: 'sk-sim', baseURL: `${sim.url('router')}/v1`, maxRetries: 0 })
    const { data, response } = await client.chat.completions.create({ model: 'large-model', stream: true, messages: [{ role: 'user', content: 'hi' }] }).withResponse()
    let text = ''
    for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? ''
    assert.equal(response.headers.get('x-sim-routed-to'), 'large')
    assert.ok(text.length > 0)
    // re-point "small" at the large service: requests for small-model now land there
    const put = await fetch(`${sim.url('router')}/_sim/routes`, { method: 'PUT', body: JSON.stringify({ small: `${sim.url('large')}/v1` }) })
    assert.equal(put.status, 200)
    const before = await (await fetch(`${sim.url('large')}/metrics`)).text()
    await client.chat.completions.create({ model: 'small-model', messages: [{ role: 'user', content: 'hi' }] })
    const after = await (await fetch(`${sim.url('large')}/metrics`)).text()
    const served = (text: string) => Number(/hopwatch_sim_requests_total\{outcome="ok"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0)
    assert.equal(served(after), served(before) + 1)
  } finally {
    await sim.close()
  }
})

test('a router route must name an llm service of the config', () => {
  assert.throws(
    () => validateSimConfig({ services: [{ name: 'r', kind: 'router', routes: [{ service: 'api' }] }, { name: 'api', kind: 'backend' }] }, 'sim.yaml'),
    (err: unknown) => err instanceof ConfigError && /services\[0\]\.routes\[0\]\.service: "api" is not an llm service of this config/.test(err.message),
  )
})
