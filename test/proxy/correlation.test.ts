import assert from 'node:assert/strict'
import { request } from 'node:http'
import { Agent } from 'node:http'
import { after, before, beforeEach, test } from 'node:test'
import type { RunningProxy } from '../../src/proxy/index.js'
import { HopCollector } from '../support/hops.js'
import { startTestProxy } from '../support/proxy.js'
import { listenHttp, type Listening } from '../support/servers.js'

let api: Listening
let proxy: RunningProxy
const hops = new HopCollector()

before(async () => {
  api = await listenHttp((_req, res) => res.end('ok'))
  proxy = await startTestProxy([{ name: 'api', component: 'backend', target: api.url, prefix: '/api' }])
})
after(async () => {
  await proxy.close()
  await api.close()
  hops.dispose()
})
beforeEach(() => hops.clear())

function get(path: string, headers: Record<string, string>, agent: Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const url = new URL(proxy.url)
    request({ host: url.hostname, port: url.port, path, headers, agent }, (res) => {
      res.resume()
      res.on('end', resolve)
    })
      .on('error', reject)
      .end()
  })
}

test('untagged requests: one conversation per connection, turns in the order they came', async () => {
  const a = new Agent({ keepAlive: true, maxSockets: 1 })
  const b = new Agent({ keepAlive: true, maxSockets: 1 })
  for (let i = 0; i < 3; i++) await get('/api/x', {}, a)
  await get('/api/x', {}, b)
  const got = await hops.waitFor(4)
  a.destroy()
  b.destroy()
  const first = got.slice(0, 3)
  assert.equal(new Set(first.map((h) => h.conversation_id)).size, 1)
  assert.deepEqual(first.map((h) => h.turn), [1, 2, 3])
  assert.notEqual(got[3]!.conversation_id, first[0]!.conversation_id)
  assert.equal(got[3]!.turn, 1)
  assert.ok(got.every((h) => h.run_id === 'run-default'))
})

test('W3C baggage names the run, conversation and turn, and traceparent gives the trace and parent span', async () => {
  const agent = new Agent()
  await get('/api/x', {
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    baggage: 'userId=alice,hopwatch.run=run%2042,hopwatch.conversation=conv-9;prop=1,hopwatch.turn=4',
  }, agent)
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.run_id, 'run 42')
  assert.equal(hop!.conversation_id, 'conv-9')
  assert.equal(hop!.turn, 4)
  assert.equal(hop!.trace_id, '4bf92f3577b34da6a3ce929d0e0e4736')
  assert.equal(hop!.parent_span_id, '00f067aa0ba902b7')
})

test('x-hopwatch headers win over baggage; oversized identifiers are cut to 128 characters', async () => {
  await get('/api/x', { 'x-hopwatch-run': 'r'.repeat(500), 'x-hopwatch-turn': 'seven', baggage: 'hopwatch.run=other' }, new Agent())
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.run_id, 'r'.repeat(128))
  assert.equal(hop!.turn, 1, 'an unreadable turn falls back to the order on the connection')
})
