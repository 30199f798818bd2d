import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import OpenAI from 'openai'
import { WebSocket } from 'ws'
import type { RunningProxy } from '../../src/proxy/index.js'
import { silencePcm, speechPcm } from '../../src/sim/index.js'
import { HopCollector } from '../support/hops.js'
import { startTestProxy } from '../support/proxy.js'
import { simulate } from '../support/sim.js'

const TTFT_MS = 200
const STT_MS = 150
let sim: Awaited<ReturnType<typeof simulate>>
let proxy: RunningProxy
const hops = new HopCollector()

before(async () => {
  sim = await simulate({
    services: [
      { name: 'llm', kind: 'llm', ttft: { median_ms: TTFT_MS }, tokens_per_s: 200 },
      { name: 'stt', kind: 'stt', latency: { median_ms: STT_MS } },
      { name: 'tts', kind: 'tts', ttfb: { median_ms: 50 }, realtime_factor: 0.05 },
    ],
  })
  proxy = await startTestProxy([
    { name: 'llm', component: 'llm', adapter: 'openai', target: `${sim.url('llm')}/v1`, port: 0 },
    { name: 'stt', component: 'stt', adapter: 'deepgram', target: sim.url('stt'), prefix: '/stt' },
    { name: 'tts', component: 'tts', adapter: 'openai', target: `${sim.url('tts')}/v1`, prefix: '/tts' },
  ])
})
after(async () => {
  await proxy.close()
  await sim.close()
  hops.dispose()
})

test('through the proxy, the simulated LLM\'s time to first token is at least its configured TTFT', async () => {
  hops.clear()
  const client = new OpenAI({ apiKey: 'sk-sim', baseURL: proxy.upstreamUrls.get('llm'), maxRetries: 0 })
  const stream = await client.chat.completions.create({ model: 'sim', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hello' }] })
  let words = 0
  for await (const chunk of stream) if (chunk.choices[0]?.delta.content) words++
  const [hop] = await hops.waitFor(1)
  assert.ok(hop!.first_payload_us - hop!.start_us >= TTFT_MS * 1000, `TTFT ${(hop!.first_payload_us - hop!.start_us) / 1000} ms`)
  assert.equal(hop!.tokens_out, words)
  assert.equal(hop!.error_kind, '')
})

test('through the proxy, the simulated speech is timed to its first byte and its audio duration is the text\'s', async () => {
  hops.clear()
  const input = 'Thanks for calling, goodbye.'
  const res = await fetch(`${proxy.url}/tts/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tts-1', voice: 'alloy', input, response_format: 'pcm' }) })
  await res.arrayBuffer()
  const [hop] = await hops.waitFor(1)
  assert.ok(Math.abs(hop!.audio_ms - (input.length / 15) * 1000) <= 1, `${hop!.audio_ms} ms`)
})

test('through the proxy, a live STT stream\'s final-transcript latency is at least the configured service time', async () => {
  hops.clear()
  const ws = new WebSocket(`${proxy.url.replace('http:', 'ws:')}/stt/v1/listen?encoding=linear16&sample_rate=16000&endpointing=200`)
  await new Promise((r) => ws.once('open', r))
  const final = new Promise<void>((resolve) =>
    ws.on('message', (d: Buffer) => {
      if ((JSON.parse(d.toString()) as { is_final?: boolean }).is_final === true) resolve()
    }),
  )
  const audio = Buffer.concat([speechPcm(16_000, 1000), silencePcm(16_000, 300)])
  for (let i = 0; i < audio.length; i += 640) ws.send(audio.subarray(i, i + 640))
  await final
  ws.send(JSON.stringify({ type: 'CloseStream' }))
  await new Promise((r) => ws.once('close', r))
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.audio_ms, 1300)
  assert.ok(hop!.final_us - hop!.request_end_us >= STT_MS * 1000, `final-transcript latency ${(hop!.final_us - hop!.request_end_us) / 1000} ms`)
})
