import assert from 'node:assert/strict'
import { after, before, beforeEach, test } from 'node:test'
import { createOpenAI } from '@ai-sdk/openai'
import { streamText } from 'ai'
import OpenAI from 'openai'
import type { RunningProxy } from '../../src/proxy/index.js'
import { HopCollector, lifecycleViolations } from '../support/hops.js'
import { startTestProxy } from '../support/proxy.js'
import { simulate } from '../support/sim.js'

let sim: Awaited<ReturnType<typeof simulate>>
let proxy: RunningProxy
let client: OpenAI
const hops = new HopCollector()

before(async () => {
  sim = await simulate({ seed: 4, services: [{ name: 'llm', kind: 'llm', ttft: { median_ms: 60, p95_ms: 90 }, tokens_per_s: 200 }] })
  proxy = await startTestProxy([{ name: 'llm', component: 'llm', adapter: 'openai', target: `${sim.url('llm')}/v1`, port: 0 }])
  client = new OpenAI({ apiKey: 'sk-test-not-real', baseURL: proxy.upstreamUrls.get('llm'), maxRetries: 0 })
})
after(async () => {
  await proxy.close()
  await sim.close()
  hops.dispose()
})
beforeEach(() => hops.clear())

test('the Responses API streamed through the proxy (the AI SDK\'s default call): the simulator\'s typed events reach the openai SDK, and the hop has TTFT at the first text delta and the usage', async () => {
  const stream = await client.responses.create({ model: 'sim-llm', input: 'What time do you open on Sunday?', stream: true })
  const types: string[] = []
  let text = ''
  let usage: OpenAI.Responses.ResponseUsage | undefined
  for await (const event of stream) {
    types.push(event.type)
    if (event.type === 'response.output_text.delta') text += event.delta
    if (event.type === 'response.completed') usage = event.response.usage ?? undefined
  }
  assert.equal(types[0], 'response.created')
  assert.equal(types.at(-1), 'response.completed')
  assert.ok(types.includes('response.output_item.added') && types.includes('response.output_text.done'), types.join(', '))
  assert.ok(text.split(' ').length >= 3, text)
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.route, '/responses')
  assert.equal(hop!.model, 'sim-llm')
  assert.equal(hop!.tokens_out, usage?.output_tokens)
  assert.equal(hop!.tokens_in, usage?.input_tokens)
  // the first payload is the first text delta, after the simulator's TTFT (60 ms median), not the opening events
  assert.ok(hop!.first_payload_us - hop!.start_us >= 30_000, `TTFT ${(hop!.first_payload_us - hop!.start_us) / 1000} ms`)
  assert.deepEqual(lifecycleViolations(hop!), [])
})

test('the Responses API with a function tool: a function_call item with its arguments streamed, then the answer after its output', async () => {
  const tools: OpenAI.Responses.Tool[] = [{ type: 'function', name: 'check_availability', strict: false, parameters: { type: 'object', properties: { date: { type: 'string' }, party: { type: 'integer' } }, required: ['date', 'party'] } }]
  const first = await client.responses.create({ model: 'sim-llm', input: 'Can you check availability for two on Friday?', tools })
  const call = first.output.find((o) => o.type === 'function_call')
  assert.ok(call !== undefined && call.type === 'function_call', JSON.stringify(first.output))
  assert.equal(call.name, 'check_availability')
  assert.deepEqual(JSON.parse(call.arguments), { date: '2026-12-04', party: 2 })
  const second = await client.responses.create({
    model: 'sim-llm',
    input: [{ role: 'user', content: 'Can you check availability for two on Friday?' }, call, { type: 'function_call_output', call_id: call.call_id, output: '{"slots":["19:00"]}' }],
    tools,
  })
  assert.match(second.output_text, /19:00/)
  const recorded = await hops.waitFor(2)
  assert.deepEqual(recorded.map((h) => [h.route, h.error_kind, h.first_payload_us > 0]), [['/responses', '', true], ['/responses', '', true]])
})

test('the Vercel AI SDK (@ai-sdk/openai, its default Responses call) streams text from the simulator through the proxy, and the hop has its TTFT and usage', async () => {
  const provider = createOpenAI({ apiKey: 'sk-test-not-real', baseURL: proxy.upstreamUrls.get('llm')! })
  const result = streamText({ model: provider('sim-llm'), prompt: 'What time do you open on Sunday?', maxRetries: 0 })
  let text = ''
  for await (const delta of result.textStream) text += delta
  const usage = await result.usage
  assert.ok(text.split(' ').length >= 3, text)
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.route, '/responses', 'the AI SDK called the Responses API')
  assert.equal(hop!.error_kind, '')
  assert.equal(hop!.tokens_out, usage.outputTokens)
  assert.ok(hop!.first_payload_us - hop!.start_us >= 30_000, `TTFT ${(hop!.first_payload_us - hop!.start_us) / 1000} ms`)
})
