import assert from 'node:assert/strict'
import { after, before, beforeEach, test } from 'node:test'
import type { RunningProxy } from '../../src/proxy/index.js'
import { HopCollector, lifecycleViolations } from '../support/hops.js'
import { openaiProvider, sha256 } from '../support/providers.js'
import { startTestProxy } from '../support/proxy.js'

let provider: Awaited<ReturnType<typeof openaiProvider>>
let proxy: RunningProxy
const hops = new HopCollector()

before(async () => {
  provider = await openaiProvider()
  proxy = await startTestProxy([{ name: 'llm', component: 'llm', adapter: 'openai', target: `${provider.url}/v1`, prefix: '/llm' }])
})
after(async () => {
  await proxy.close()
  await provider.close()
  hops.dispose()
})
beforeEach(() => hops.clear())

async function chat(body: object): Promise<Buffer> {
  const res = await fetch(`${proxy.url}/llm/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
    body: JSON.stringify(body),
  })
  assert.equal(res.status, 200)
  return Buffer.from(await res.arrayBuffer())
}

test('records the first content delta as the first token, the last delta as final, and usage', async () => {
  const body = await chat({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'hi' }] })
  const [hop] = await hops.waitFor(1)
  const upstream = provider.marks.at(-1)!
  assert.ok(hop)
  assert.equal(sha256(body), sha256(upstream.body), 'the stream arrives byte for byte')
  assert.ok(hop.first_payload_us >= upstream.firstContentAt, 'first token not before the upstream sent it')
  assert.ok(hop.first_payload_us < upstream.secondContentAt, 'first token seen before the second was sent (not buffered, not the role chunk)')
  assert.ok(hop.first_byte_us < upstream.firstContentAt, 'the empty role chunk arrived first and was not taken as a token')
  assert.ok(hop.final_us >= upstream.lastContentAt && hop.final_us <= hop.end_us)
  assert.deepEqual(lifecycleViolations(hop), [])
  assert.equal(hop.tokens_in, 17)
  assert.equal(hop.tokens_out, 5)
  assert.equal(hop.model, 'gpt-test')
  assert.equal(hop.status, 200)
  assert.equal(hop.error_kind, '')
  assert.equal(hop.route, '/chat/completions')
  assert.equal(hop.component, 'llm')
  assert.equal(upstream.path, '/v1/chat/completions', 'the prefix is replaced by the target base path')
})

test('a tool-call delta counts as the first token', async () => {
  await chat({ model: 'gpt-test', stream: true, tools: [{ type: 'function', function: { name: 'book_table' } }], messages: [{ role: 'user', content: 'book' }] })
  const [hop] = await hops.waitFor(1)
  const upstream = provider.marks.at(-1)!
  assert.ok(hop!.first_payload_us >= upstream.firstContentAt && hop!.first_payload_us < upstream.secondContentAt)
})

test('a non-streamed completion: first byte is the payload, usage read from the JSON', async () => {
  const body = await chat({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] })
  const [hop] = await hops.waitFor(1)
  assert.equal(sha256(body), sha256(provider.marks.at(-1)!.body))
  assert.ok(hop!.first_payload_us > 0)
  assert.equal(hop!.tokens_in, 9)
  assert.equal(hop!.tokens_out, 3)
  assert.deepEqual(lifecycleViolations(hop!), [])
})

test('the request body reaches the upstream unchanged, with the caller\'s credentials and without hopwatch headers', async () => {
  const payload = { model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'ünïcödé ✓ '.repeat(2000) }] }
  const res = await fetch(`${proxy.url}/llm/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', 'x-hopwatch-run': 'r1', 'x-hopwatch-conversation': 'c1', 'x-hopwatch-turn': '3', 'x-custom': 'kept' },
    body: JSON.stringify(payload),
  })
  await res.arrayBuffer()
  const upstream = provider.marks.at(-1)!
  assert.equal(sha256(upstream.requestBody), sha256(JSON.stringify(payload)))
  assert.equal(upstream.requestHeaders.authorization, 'Bearer sk-test')
  assert.equal(upstream.requestHeaders['x-custom'], 'kept')
  assert.equal(Object.keys(upstream.requestHeaders).filter((h) => h.startsWith('x-hopwatch-')).length, 0)
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.run_id, 'r1')
  assert.equal(hop!.conversation_id, 'c1')
  assert.equal(hop!.turn, 3)
  assert.equal(hop!.bytes_in, Buffer.byteLength(JSON.stringify(payload)))
  assert.ok(hop!.request_end_us >= hop!.start_us && hop!.request_end_us <= hop!.response_start_us)
})
