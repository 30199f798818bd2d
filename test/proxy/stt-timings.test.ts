import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { DeepgramClient } from '@deepgram/sdk'
import OpenAI, { toFile } from 'openai'
import { nowUs } from '../../src/clock.js'
import { componentLatencyUs } from '../../src/latency.js'
import type { RunningProxy } from '../../src/proxy/index.js'
import { silencePcm, speechPcm, wavHeader } from '../../src/sim/index.js'
import { HopCollector } from '../support/hops.js'
import { startTestProxy } from '../support/proxy.js'
import { simulate } from '../support/sim.js'

let sim: Awaited<ReturnType<typeof simulate>>
let proxy: RunningProxy
const hops = new HopCollector()
const RATE = 16_000
const FRAME_MS = 20

before(async () => {
  sim = await simulate({ seed: 5, services: [{ name: 'stt', kind: 'stt', latency: { median_ms: 80, p95_ms: 120 }, wer: { base: 0, growth: 0 } }] })
  proxy = await startTestProxy([
    { name: 'stt', component: 'stt', adapter: 'deepgram', target: sim.url('stt'), prefix: '/stt' },
    { name: 'whisper', component: 'stt', adapter: 'openai', target: `${sim.url('stt')}/v1`, port: 0 },
  ])
})
after(async () => {
  await proxy.close()
  await sim.close()
  hops.dispose()
})

/** The audio a live microphone streams: silence, then speech and silence in turn, as 20 ms frames. */
function microphone(parts: Array<['speech' | 'silence', number]>): Array<{ pcm: Buffer; speech: boolean }> {
  const frames: Array<{ pcm: Buffer; speech: boolean }> = []
  for (const [kind, ms] of parts) {
    const audio = kind === 'speech' ? speechPcm(RATE, ms) : silencePcm(RATE, ms)
    const bytes = (RATE * FRAME_MS * 2) / 1000
    for (let at = 0; at < audio.length; at += bytes) frames.push({ pcm: audio.subarray(at, at + bytes), speech: kind === 'speech' })
  }
  return frames
}

/** A live stream opened with the @deepgram/sdk through the proxy (at `path` after its address); finals as they come. */
async function liveStream(path: string, options: { endpointing?: number } = {}) {
  const client = new DeepgramClient({ apiKey: 'dg-test-not-real', baseUrl: `${proxy.url.replace('http:', 'ws:')}${path}` })
  const connection = await client.listen.v1.connect({ model: 'nova-3', encoding: 'linear16', sample_rate: RATE, ...options })
  const finals: Array<{ at: number; transcript: string }> = []
  connection.on('message', (message) => {
    if (message.type === 'Results' && message.is_final === true) finals.push({ at: nowUs(), transcript: message.channel.alternatives[0]?.transcript ?? '' })
  })
  connection.connect()
  await connection.waitForOpen()
  return { connection, finals }
}

test('live STT with audio that keeps flowing after speech: the latency runs from the end of speech to the final, and silence opens no exchange', async () => {
  hops.clear()
  const { connection, finals } = await liveStream('/stt', { endpointing: 300 })

  // what the client knows: when it sent the first and the last frame of each stretch of speech, by its own clock
  const frames = microphone([['silence', 500], ['speech', 600], ['silence', 1000], ['speech', 800], ['silence', 1000]])
  const utterances: Array<{ firstSentUs: number; lastSentUs: number }> = []
  const started = performance.now()
  for (const [i, frame] of frames.entries()) {
    // paced by the wall clock, as a microphone is: a late timer sends the next frame sooner
    const due = started + i * FRAME_MS - performance.now()
    if (due > 0) await new Promise((r) => setTimeout(r, due))
    const sentUs = nowUs()
    connection.sendMedia(frame.pcm)
    if (frame.speech) {
      if (i === 0 || !frames[i - 1]!.speech) utterances.push({ firstSentUs: sentUs, lastSentUs: sentUs })
      else utterances.at(-1)!.lastSentUs = sentUs
    }
  }
  connection.sendCloseStream({ type: 'CloseStream' })
  await hops.waitFor(2)
  await new Promise((r) => setTimeout(r, 200)) // any exchange the silence opened would end with the stream
  connection.close()

  const speechFinals = finals.filter((f) => f.transcript !== '')
  assert.equal(speechFinals.length, 2, JSON.stringify(finals))
  assert.equal(hops.hops.length, 2, `one exchange per utterance, none for silence: ${JSON.stringify(hops.hops.map((h) => [h.start_us, h.request_end_us, h.final_us, h.error_kind]))}`)
  for (const [i, hop] of hops.hops.entries()) {
    const truth = utterances[i]!
    const clientMs = (speechFinals[i]!.at - truth.lastSentUs) / 1000
    const hopMs = componentLatencyUs(hop)! / 1000
    process.stdout.write(`# utterance ${i + 1}: client saw ${clientMs.toFixed(1)} ms from its last speech frame to the final; the hop says ${hopMs.toFixed(1)} ms\n`)
    assert.equal(hop.error_kind, '')
    // the simulator's endpointing waits 300 ms of silence: a latency from the last frame sent would be under 20 ms
    assert.ok(clientMs >= 300, `client latency ${clientMs} ms`)
    assert.ok(Math.abs(hopMs - clientMs) < FRAME_MS, `hop latency ${hopMs} ms against the client's ${clientMs} ms`)
    assert.ok(Math.abs(hop.start_us - truth.firstSentUs) / 1000 < FRAME_MS, `the exchange starts with speech: ${(hop.start_us - truth.firstSentUs) / 1000} ms off`)
  }
})

test('live STT on digital silence and Finalize: the simulator gives an empty transcript, and the exchange the caller asked for is kept', async () => {
  hops.clear()
  const { connection, finals } = await liveStream('/stt')
  for (const frame of microphone([['silence', 700]])) connection.sendMedia(frame.pcm)
  connection.sendFinalize({ type: 'Finalize' })
  const [hop] = await hops.waitFor(1)
  for (let i = 0; i < 100 && finals.length === 0; i++) await new Promise((r) => setTimeout(r, 20))
  connection.close()
  assert.deepEqual(finals.map((f) => f.transcript), [''])
  assert.equal(hop!.error_kind, '')
  assert.equal(hop!.first_payload_us, 0, 'an empty transcript is no payload')
  assert.ok(hop!.final_us > 0)
})

/** A WAV file of `ms` of speech at 16 kHz. */
function speechWav(ms: number): Buffer {
  const pcm = speechPcm(RATE, ms)
  return Buffer.concat([wavHeader(RATE, pcm.length), pcm])
}

for (const format of ['json', 'verbose_json'] as const) {
  test(`an uploaded transcription (${format}): the hop has the model from the form and the audio's own length, not billed seconds`, async () => {
    hops.clear()
    const openai = new OpenAI({ apiKey: 'sk-test-not-real', baseURL: proxy.upstreamUrls.get('whisper'), maxRetries: 0 })
    await openai.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(speechWav(3078), 'turn.wav', { type: 'audio/wav' }), response_format: format })
    const [hop] = await hops.waitFor(1)
    assert.equal(hop!.model, 'whisper-1')
    assert.equal(hop!.audio_ms, 3078)
    assert.equal(hop!.auxiliary, 0)
  })
}

test('a pre-recorded Deepgram transcription: the hop has the model from the query and the duration from the answer', async () => {
  hops.clear()
  const client = new DeepgramClient({ apiKey: 'dg-test-not-real', baseUrl: `${proxy.url}/stt` })
  const result = await client.listen.v1.media.transcribeFile(speechWav(2500), { model: 'nova-3' })
  assert.ok('metadata' in result && Math.abs(result.metadata.duration - 2.5) < 0.01, JSON.stringify(result).slice(0, 200))
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.model, 'nova-3')
  assert.equal(hop!.audio_ms, 2500)
  assert.equal(hop!.route, '/v1/listen')
})

test('a client that cannot add headers names its conversation in the base URL (/_hw/<id>): the @deepgram/sdk live stream is recorded under it, and the upstream sees the plain path', async () => {
  hops.clear()
  const { connection } = await liveStream('/stt/_hw/call-42')
  for (const frame of microphone([['speech', 400]])) connection.sendMedia(frame.pcm)
  connection.sendFinalize({ type: 'Finalize' })
  const [hop] = await hops.waitFor(1)
  connection.close()
  assert.equal(hop!.conversation_id, 'call-42')
  assert.equal(hop!.route, '/v1/listen')
  assert.equal(hop!.error_kind, '')
})

test('a /_hw/ segment that is no conversation id is refused with 400 before anything is forwarded', async () => {
  const res = await fetch(`${proxy.url}/stt/_hw/${'x'.repeat(200)}/v1/listen`, { method: 'POST', body: 'x' })
  assert.equal(res.status, 400)
  assert.equal(res.headers.get('x-hopwatch-error'), 'HW_PROXY_BAD_TARGET')
  await res.arrayBuffer()
})
