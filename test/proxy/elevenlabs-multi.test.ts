import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { RunningProxy } from '../../src/proxy/index.js'
import { HopCollector, lifecycleViolations } from '../support/hops.js'
import { startTestProxy } from '../support/proxy.js'
import { simulate } from '../support/sim.js'
import { RecordingSocket } from '../support/ws-client.js'

let sim: Awaited<ReturnType<typeof simulate>>
let proxy: RunningProxy
const hops = new HopCollector()

before(async () => {
  sim = await simulate({ seed: 6, services: [{ name: 'tts', kind: 'tts', ttfb: { median_ms: 40, p95_ms: 60 }, realtime_factor: 0.05 }] })
  proxy = await startTestProxy([{ name: 'tts', component: 'tts', adapter: 'elevenlabs', target: sim.url('tts'), prefix: '/tts' }])
})
after(async () => {
  await proxy.close()
  await sim.close()
  hops.dispose()
})

interface Received {
  audio?: string
  isFinal?: boolean | null
  contextId?: string
}

test('ElevenLabs multi-context streaming (LiveKit\'s plugin): each context is its own exchange, timed to its own first audio, even when they overlap', async () => {
  const client = new RecordingSocket(`${proxy.url.replace('http:', 'ws:')}/tts/v1/text-to-speech/voice1/multi-stream-input?model_id=eleven_flash_v2_5&output_format=pcm_16000`, { headers: { 'xi-api-key': 'xi-test-not-real', 'x-hopwatch-conversation': 'conv-tts', 'x-hopwatch-turn': '4' } })
  await client.opened()
  const send = (m: object) => client.socket.send(JSON.stringify(m))
  const received = () => client.messages.map((m) => JSON.parse(m.data.toString('utf8')) as Received)
  // the first reply, and a second one begun before the first is final (the user barged in)
  send({ text: ' ', context_id: 'reply-1', voice_settings: { stability: 0.5 } })
  send({ text: 'Your table for two is booked ', context_id: 'reply-1' })
  send({ text: 'for Friday at seven. ', context_id: 'reply-1', flush: true })
  send({ text: ' ', context_id: 'reply-2' })
  send({ text: 'Sorry, did you say eight? ', context_id: 'reply-2', flush: true })
  send({ context_id: 'reply-1', close_context: true })
  send({ context_id: 'reply-2', close_context: true })
  await client.until(() => received().filter((m) => m.isFinal === true).length === 2, 'both contexts final')
  send({ close_socket: true })
  await client.until(() => client.closed !== undefined, 'the close')
  assert.equal(client.closed?.code, 1000)

  const byContext = (id: string) => received().filter((m) => m.contextId === id)
  for (const id of ['reply-1', 'reply-2']) {
    assert.ok(byContext(id).some((m) => typeof m.audio === 'string'), `${id} got audio`)
    assert.deepEqual(byContext(id).at(-1), { isFinal: true, contextId: id })
  }
  const recorded = await hops.waitFor(2)
  assert.equal(recorded.length, 2, JSON.stringify(recorded.map((h) => [h.turn, h.error_kind])))
  for (const [i, hop] of [...recorded].sort((a, b) => a.turn - b.turn).entries()) {
    const id = `reply-${i + 1}`
    const audioBytes = byContext(id).reduce((n, m) => n + (typeof m.audio === 'string' ? Buffer.from(m.audio, 'base64').length : 0), 0)
    assert.equal(hop.conversation_id, 'conv-tts')
    assert.equal(hop.turn, 4 + i, 'contexts are numbered in the order they began')
    assert.equal(hop.model, 'eleven_flash_v2_5')
    assert.equal(hop.error_kind, '')
    assert.ok(hop.first_payload_us > hop.start_us && hop.request_end_us >= hop.start_us)
    assert.ok(Math.abs(hop.audio_ms - audioBytes / 32) <= 1, `${id}: ${hop.audio_ms} ms recorded, ${audioBytes / 32} ms received`)
    assert.deepEqual(lifecycleViolations(hop), [])
  }
})
