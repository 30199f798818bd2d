import assert from 'node:assert/strict'
import { after, before, beforeEach, test } from 'node:test'
import { nowUs } from '../../src/clock.js'
import type { RunningProxy } from '../../src/proxy/index.js'
import { HopCollector, lifecycleViolations } from '../support/hops.js'
import { elevenlabsProvider, sha256 } from '../support/providers.js'
import { startTestProxy } from '../support/proxy.js'
import { RecordingSocket } from '../support/ws-client.js'

let provider: Awaited<ReturnType<typeof elevenlabsProvider>>
let proxy: RunningProxy
const hops = new HopCollector()

before(async () => {
  provider = await elevenlabsProvider()
  proxy = await startTestProxy([{ name: 'tts', component: 'tts', adapter: 'elevenlabs', target: provider.url, prefix: '/tts' }])
})
after(async () => {
  await proxy.close()
  await provider.close()
  hops.dispose()
})
beforeEach(() => hops.clear())

test('streaming TTS over HTTP: the first audio byte is TTFB, PCM duration counted, bytes unchanged', async () => {
  const res = await fetch(`${proxy.url}/tts/v1/text-to-speech/voice1/stream?output_format=pcm_16000`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'xi-api-key': 'xi-secret' },
    body: JSON.stringify({ text: 'Your table is booked.', model_id: 'eleven_flash_v2_5' }),
  })
  const audio = Buffer.from(await res.arrayBuffer())
  const [hop] = await hops.waitFor(1)
  const upstream = provider.http.at(-1)!
  assert.equal(sha256(audio), sha256(upstream.body))
  assert.equal(upstream.requestHeaders['xi-api-key'], 'xi-secret')
  assert.ok(hop!.first_payload_us >= upstream.firstContentAt && hop!.first_payload_us < upstream.secondContentAt)
  assert.equal(hop!.model, 'eleven_flash_v2_5')
  assert.equal(hop!.audio_ms, 1500) // 48,000 bytes of 16 kHz 16-bit PCM
  assert.deepEqual(lifecycleViolations(hop!), [])
})

test('input streaming over WebSocket: text in, first audio message is TTFB, isFinal ends the exchange', async () => {
  const client = new RecordingSocket(`${proxy.url.replace('http:', 'ws:')}/tts/v1/text-to-speech/voice1/stream-input?model_id=eleven_flash_v2_5&output_format=pcm_16000`)
  await client.opened()
  const messages = [{ text: ' ', voice_settings: { stability: 0.5 } }, { text: 'Your table ' }, { text: 'is booked. ' }, { text: '' }].map((m) => JSON.stringify(m))
  let firstTextAt = 0
  let eosAt = 0
  for (const [i, m] of messages.entries()) {
    if (i === 1) firstTextAt = nowUs()
    if (i === 3) eosAt = nowUs()
    client.socket.send(m)
  }
  await client.until(() => client.messages.length >= 4, 'audio and isFinal')
  client.socket.close(1000)
  const [hop] = await hops.waitFor(1)
  const upstream = provider.sessions.at(-1)!
  assert.deepEqual(upstream.received, messages.map((m) => [sha256(m), false]))
  assert.deepEqual(client.messages.map((m) => [sha256(m.data), m.isBinary]), upstream.sent)
  assert.ok(hop!.start_us >= firstTextAt)
  const fromFirstWords = messages.slice(1).reduce((n, m) => n + Buffer.byteLength(m), 0)
  assert.equal(hop!.bytes_in, fromFirstWords, 'the exchange starts with the first words, not the settings message')
  assert.ok(hop!.request_end_us >= eosAt, 'the caller is done at the empty-text message')
  assert.ok(hop!.first_payload_us >= upstream.at.firstAudio!)
  assert.ok(hop!.end_us >= upstream.at.final!)
  assert.equal(hop!.audio_ms, 1500)
  assert.equal(hop!.error_kind, '')
})
