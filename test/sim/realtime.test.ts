import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { WebSocket } from 'ws'
import { silencePcm, speechPcm } from '../../src/sim/index.js'
import { simulate } from '../support/sim.js'

let sim: Awaited<ReturnType<typeof simulate>>

before(async () => {
  sim = await simulate({
    services: [
      { name: 's2s', kind: 's2s', ttfb: { median_ms: 20 }, realtime_factor: 0.05 },
      { name: 'tts', kind: 'tts', ttfb: { median_ms: 20 }, realtime_factor: 0.05 },
    ],
  })
})
after(() => sim.close())

/** A WebSocket that keeps every JSON message it receives and can wait for one of a type. */
async function open(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers })
  const events: Array<Record<string, unknown>> = []
  const waiters: Array<() => void> = []
  ws.on('message', (data: Buffer) => {
    events.push(JSON.parse(data.toString()) as Record<string, unknown>)
    for (const w of waiters.splice(0)) w()
  })
  const closed = new Promise<number>((r) => ws.on('close', r))
  await new Promise((r) => ws.once('open', r))
  const waitFor = async (match: (e: Record<string, unknown>) => boolean) => {
    for (;;) {
      const found = events.find(match)
      if (found !== undefined) return found
      await new Promise<void>((r) => waiters.push(r))
    }
  }
  return { ws, events, waitFor, closed }
}

const realtimeUrl = () => `${sim.url('s2s').replace('http:', 'ws:')}/v1/realtime?model=gpt-realtime`

test('a realtime session answers commit + response.create with paced audio deltas and response.done with usage', async () => {
  const reply = 'Your table is booked for seven.'
  const { ws, events, waitFor } = await open(realtimeUrl(), { 'x-sim-reply': encodeURIComponent(reply) })
  await waitFor((e) => e.type === 'session.created')
  ws.send(JSON.stringify({ type: 'session.update', session: { turn_detection: null } }))
  ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: speechPcm(24_000, 800).toString('base64') }))
  ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }))
  ws.send(JSON.stringify({ type: 'response.create' }))
  const done = (await waitFor((e) => e.type === 'response.done')) as { response: { status: string; usage: { output_tokens: number } } }
  assert.equal(done.response.status, 'completed')
  assert.ok(done.response.usage.output_tokens > 0)
  const audioBytes = events.filter((e) => e.type === 'response.audio.delta').reduce((n, e) => n + Buffer.from(e.delta as string, 'base64').length, 0)
  assert.equal(audioBytes, Math.round((24_000 * reply.length) / 15) * 2, 'the reply as long as it takes to say')
  const transcript = events.find((e) => e.type === 'response.audio_transcript.done')
  assert.equal(transcript?.transcript, reply)
  assert.ok(events.findIndex((e) => e.type === 'input_audio_buffer.committed') < events.findIndex((e) => e.type === 'response.audio.delta'))
  ws.close()
})

test('with server VAD, the end of the caller\'s speech commits the audio and starts the answer by itself', async () => {
  const { ws, waitFor } = await open(realtimeUrl())
  await waitFor((e) => e.type === 'session.created')
  ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: speechPcm(24_000, 600).toString('base64') }))
  await waitFor((e) => e.type === 'input_audio_buffer.speech_started')
  ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: silencePcm(24_000, 600).toString('base64') }))
  await waitFor((e) => e.type === 'input_audio_buffer.speech_stopped')
  const done = (await waitFor((e) => e.type === 'response.done')) as { response: { status: string } }
  assert.equal(done.response.status, 'completed')
  ws.close()
})

test('an unknown or malformed realtime event gets an error event and the session goes on', async () => {
  const { ws, waitFor, events } = await open(realtimeUrl())
  await waitFor((e) => e.type === 'session.created')
  ws.send(JSON.stringify({ type: 'response.explode', event_id: 'evt_1' }))
  ws.send('{not json')
  ws.send(JSON.stringify({ type: 'input_audio_buffer.commit', event_id: 'evt_2' }))
  await waitFor((e) => e.type === 'error' && (e.error as { code: string }).code === 'input_audio_buffer_commit_empty')
  const errors = events.filter((e) => e.type === 'error').map((e) => e.error as { code: string; event_id: string | null; param: string | null })
  assert.deepEqual(
    errors.map((e) => [e.code, e.event_id]),
    [
      ['invalid_value', 'evt_1'],
      ['invalid_json', null],
      ['input_audio_buffer_commit_empty', 'evt_2'],
    ],
  )
  ws.send(JSON.stringify({ type: 'response.create' }))
  assert.equal(((await waitFor((e) => e.type === 'response.done')) as { response: { status: string } }).response.status, 'completed')
  ws.close()
})

test('ElevenLabs input streaming buffers text, generates audio with alignment, and ends with isFinal', async () => {
  const { ws, events, waitFor, closed } = await open(`${sim.url('tts').replace('http:', 'ws:')}/v1/text-to-speech/voice1/stream-input?model_id=eleven_flash_v2_5&output_format=pcm_16000`)
  ws.send(JSON.stringify({ text: ' ', voice_settings: { stability: 0.5 }, xi_api_key: 'xi-sim' }))
  ws.send(JSON.stringify({ text: 'Your order is ' }))
  ws.send(JSON.stringify({ text: 'on its way.', flush: true }))
  ws.send(JSON.stringify({ text: ' It arrives at seven.' }))
  ws.send(JSON.stringify({ text: '' }))
  await waitFor((e) => e.isFinal === true)
  assert.equal(await closed, 1000)
  const audio = events.filter((e) => typeof e.audio === 'string')
  const bytes = audio.reduce((n, e) => n + Buffer.from(e.audio as string, 'base64').length, 0)
  const spoken = (text: string) => Math.round((16_000 * text.length) / 15) * 2
  assert.equal(bytes, spoken('Your order is on its way.') + spoken('It arrives at seven.'), 'two generations: the flush and the end')
  const chars = audio.flatMap((e) => (e.normalizedAlignment as { chars: string[] }).chars).join('')
  assert.equal(chars, 'Your order is on its way.It arrives at seven.')
})
