import assert from 'node:assert/strict'
import { after, before, beforeEach, test } from 'node:test'
import OpenAI, { toFile } from 'openai'
import { componentLatency } from '../../src/latency.js'
import type { RunningProxy } from '../../src/proxy/index.js'
import { HopCollector, lifecycleViolations } from '../support/hops.js'
import { openaiProvider, sha256, wavHeader } from '../support/providers.js'
import { startTestProxy } from '../support/proxy.js'

let provider: Awaited<ReturnType<typeof openaiProvider>>
let proxy: RunningProxy
let client: OpenAI
const hops = new HopCollector()

before(async () => {
  provider = await openaiProvider()
  // the SDK only swaps its base URL: the upstream has a port of its own on the proxy
  proxy = await startTestProxy([{ name: 'openai', component: 'llm', adapter: 'openai', target: `${provider.url}/v1`, port: 0 }])
  client = new OpenAI({ apiKey: 'sk-test-not-real', baseURL: proxy.upstreamUrls.get('openai'), maxRetries: 0 })
})
after(async () => {
  await proxy.close()
  await provider.close()
  hops.dispose()
})
beforeEach(() => hops.clear())

test('the openai SDK streams a chat completion through the proxy and the hop shows its TTFT', async () => {
  const stream = await client.chat.completions.create({ model: 'gpt-test', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Book a table' }] })
  let text = ''
  for await (const part of stream) text += part.choices[0]?.delta.content ?? ''
  assert.equal(text, 'Hello there, how can I help?')
  const [hop] = await hops.waitFor(1)
  const upstream = provider.marks.at(-1)!
  assert.ok(hop!.first_payload_us >= upstream.firstContentAt && hop!.first_payload_us < upstream.secondContentAt, 'TTFT is the first content delta')
  assert.ok(hop!.first_payload_us - hop!.start_us > 0)
  assert.equal(hop!.tokens_out, 5)
  assert.equal(hop!.component, 'llm')
  assert.deepEqual(lifecycleViolations(hop!), [])
})

test('a model listing (LiveKit\'s session start) is recorded as auxiliary: no first payload, no component latency', async () => {
  const models = await client.models.list()
  assert.deepEqual(models.data.map((m) => m.id), ['gpt-test'])
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.route, '/models')
  assert.equal(hop!.auxiliary, 1)
  assert.equal(hop!.first_payload_us, 0, 'a listing has no TTFT')
  assert.equal(componentLatency(hop!), undefined)
  assert.equal(hop!.error_kind, '')
})

test('an error answer (404 JSON) has no first payload: its first byte is no TTFT', async () => {
  await assert.rejects(client.embeddings.create({ model: 'emb-test', input: 'hello' }), (err: Error & { status?: number }) => err.status === 404)
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.status, 404)
  assert.equal(hop!.auxiliary, 0, 'a POST is the component\'s work, even when it fails')
  assert.equal(hop!.first_payload_us, 0)
  assert.ok(hop!.first_byte_us > 0, 'the error body did pass')
  assert.equal(componentLatency(hop!), undefined)
})

test('the openai SDK streams speech through the proxy and the hop shows TTFB and the audio duration', async () => {
  const response = await client.audio.speech.create({ model: 'tts-test', voice: 'alloy', input: 'Your table is booked.', response_format: 'wav' })
  const audio = Buffer.from(await response.arrayBuffer())
  const [hop] = await hops.waitFor(1)
  const upstream = provider.marks.at(-1)!
  assert.equal(sha256(audio), sha256(upstream.body))
  assert.ok(hop!.first_payload_us >= upstream.firstContentAt && hop!.first_payload_us < upstream.secondContentAt, 'TTFB is the first audio byte')
  assert.equal(hop!.model, 'tts-test')
  assert.ok(Math.abs(hop!.audio_ms - 1000) <= 1, `one second of 24 kHz audio, got ${hop!.audio_ms} ms`)
  // one OpenAI base URL, configured as llm: speech is still judged as TTS
  assert.equal(hop!.component, 'tts')
  assert.deepEqual(lifecycleViolations(hop!), [])
})

test('the openai SDK uploads a transcription through the proxy: the upload arrives whole and the user audio ends before the transcript', async () => {
  const wav = Buffer.concat([wavHeader(16_000, 80_000), Buffer.alloc(80_000, 3)])
  const result = await client.audio.transcriptions.create({ model: 'stt-test', file: await toFile(wav, 'turn.wav', { type: 'audio/wav' }) })
  assert.equal(result.text, 'I would like to book a table for two.')
  const [hop] = await hops.waitFor(1)
  const upstream = provider.marks.at(-1)!
  assert.ok(upstream.requestBody.includes(wav), 'the WAV file is inside the multipart body byte for byte')
  assert.equal(hop!.bytes_in, upstream.requestBody.length)
  assert.ok(hop!.request_end_us > 0 && hop!.request_end_us <= upstream.firstContentAt)
  assert.ok(hop!.final_us >= upstream.firstContentAt)
  assert.equal(hop!.audio_ms, 2500)
  assert.equal(hop!.component, 'stt')
})

test('a route in the upstream\'s config wins over the adapter\'s: embeddings judged as the backend they are here', async () => {
  const routed = await startTestProxy([{ name: 'openai', component: 'llm', adapter: 'openai', target: `${provider.url}/v1`, port: 0, routes: [{ path: '/embeddings', component: 'backend' }, { path: '/audio/speech', component: 'router' }] }])
  try {
    const sdk = new OpenAI({ apiKey: 'sk-test-not-real', baseURL: routed.upstreamUrls.get('openai'), maxRetries: 0 })
    await assert.rejects(sdk.embeddings.create({ model: 'emb-test', input: 'hello' }), (err: Error & { status?: number }) => err.status === 404)
    await (await sdk.audio.speech.create({ model: 'tts-test', voice: 'alloy', input: 'Booked.', response_format: 'wav' })).arrayBuffer()
    await sdk.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'Hi' }] })
    const got = await hops.waitFor(3)
    assert.deepEqual(got.map((h) => [h.route, h.component]), [['/embeddings', 'backend'], ['/audio/speech', 'router'], ['/chat/completions', 'llm']])
  } finally {
    await routed.close()
  }
})
