import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { DeepgramClient } from '@deepgram/sdk'
import { ElevenLabsClient } from '@elevenlabs/elevenlabs-js'
import type { RunningProxy } from '../../src/proxy/index.js'
import { HopCollector, lifecycleViolations } from '../support/hops.js'
import { deepgramProvider, elevenlabsProvider, sha256 } from '../support/providers.js'
import { startTestProxy } from '../support/proxy.js'

let stt: Awaited<ReturnType<typeof deepgramProvider>>
let tts: Awaited<ReturnType<typeof elevenlabsProvider>>
let proxy: RunningProxy
const hops = new HopCollector()

before(async () => {
  stt = await deepgramProvider()
  tts = await elevenlabsProvider()
  proxy = await startTestProxy([
    { name: 'stt', component: 'stt', adapter: 'deepgram', target: stt.url, prefix: '/stt' },
    { name: 'tts', component: 'tts', adapter: 'elevenlabs', target: tts.url, port: 0 },
  ])
})
after(async () => {
  await proxy.close()
  await stt.close()
  await tts.close()
  hops.dispose()
})

test('the @deepgram/sdk live client streams audio through the proxy and the hop shows the final-transcript latency', async () => {
  hops.clear()
  const client = new DeepgramClient({ apiKey: 'dg-test-not-real', baseUrl: `${proxy.url.replace('http:', 'ws:')}/stt` })
  const connection = await client.listen.v1.connect({ model: 'nova-3', encoding: 'linear16', sample_rate: 16000 })
  const transcripts: string[] = []
  connection.on('message', (message) => {
    if (message.type === 'Results' && message.is_final === true) transcripts.push(message.channel.alternatives[0]?.transcript ?? '')
  })
  connection.connect()
  await connection.waitForOpen()
  for (let i = 0; i < 10; i++) connection.sendMedia(new Uint8Array(640))
  connection.sendFinalize({ type: 'Finalize' })
  for (let i = 0; i < 200 && transcripts.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
  assert.deepEqual(transcripts, ['book a table for two'])
  connection.sendCloseStream({ type: 'CloseStream' })
  const [hop] = await hops.waitFor(1)
  const upstream = stt.sessions.at(-1)!
  assert.equal(upstream.headers.authorization, 'Token dg-test-not-real')
  assert.ok(hop!.request_end_us > 0 && hop!.request_end_us < upstream.at.final!, 'user audio ended before the final transcript')
  assert.ok(hop!.final_us >= upstream.at.final!)
  assert.equal(hop!.audio_ms, 200)
  connection.close()
})

test('the @elevenlabs/elevenlabs-js client streams speech through the proxy and the hop shows TTFB', async () => {
  hops.clear()
  const client = new ElevenLabsClient({ apiKey: 'xi-test-not-real', baseUrl: proxy.upstreamUrls.get('tts')!, maxRetries: 0 })
  const stream = await client.textToSpeech.stream('voice1', { text: 'Your table is booked.', modelId: 'eleven_flash_v2_5', outputFormat: 'pcm_16000' })
  const parts: Uint8Array[] = []
  for await (const part of stream) parts.push(part)
  const audio = Buffer.concat(parts)
  const [hop] = await hops.waitFor(1)
  const upstream = tts.http.at(-1)!
  assert.equal(sha256(audio), sha256(upstream.body))
  assert.equal(upstream.requestHeaders['xi-api-key'], 'xi-test-not-real')
  assert.ok(hop!.first_payload_us >= upstream.firstContentAt && hop!.first_payload_us < upstream.secondContentAt)
  assert.equal(hop!.model, 'eleven_flash_v2_5')
  assert.equal(hop!.audio_ms, 1500)
  assert.deepEqual(lifecycleViolations(hop!), [])
})
