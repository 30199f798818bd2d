import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { nowUs } from '../../src/clock.js'
import type { RunningProxy } from '../../src/proxy/index.js'
import { HopCollector } from '../support/hops.js'
import { deepgramProvider, sha256 } from '../support/providers.js'
import { startTestProxy } from '../support/proxy.js'
import { sleep } from '../support/servers.js'
import { RecordingSocket } from '../support/ws-client.js'

let provider: Awaited<ReturnType<typeof deepgramProvider>>
let proxy: RunningProxy
const hops = new HopCollector()

before(async () => {
  provider = await deepgramProvider()
  proxy = await startTestProxy([{ name: 'stt', component: 'stt', adapter: 'deepgram', target: provider.url, prefix: '/stt' }])
})
after(async () => {
  await proxy.close()
  await provider.close()
  hops.dispose()
})

test('live STT: the user audio ends at Finalize, the first interim is the payload, the final transcript is final; messages pass unchanged', async () => {
  const url = `${proxy.url.replace('http:', 'ws:')}/stt/v1/listen?model=nova-3&encoding=linear16&sample_rate=16000&channels=1`
  const client = new RecordingSocket(url, { headers: { authorization: 'Token dg-secret', 'x-hopwatch-conversation': 'conv-7', 'x-hopwatch-turn': '2' } })
  await client.opened()
  const sent: Array<[string, boolean]> = []
  const frame = Buffer.alloc(640) // 20 ms of 16 kHz 16-bit mono
  for (let i = 0; i < 10; i++) {
    frame.fill(i)
    sent.push([sha256(frame), true])
    client.socket.send(frame)
    await sleep(20)
  }
  const finalize = JSON.stringify({ type: 'Finalize' })
  const finalizeAt = nowUs()
  sent.push([sha256(finalize), false])
  client.socket.send(finalize)
  await client.until(() => client.messages.length >= 2, 'interim and final results')
  const close = JSON.stringify({ type: 'CloseStream' })
  sent.push([sha256(close), false])
  client.socket.send(close)
  await client.until(() => client.closed !== undefined, 'the close')

  const [hop] = await hops.waitFor(1)
  const upstream = provider.sessions[0]!
  assert.deepEqual(upstream.received, sent, 'every frame reached the upstream, in order, with its binary flag')
  assert.deepEqual(client.messages.map((m) => [sha256(m.data), m.isBinary]), upstream.sent, 'every result reached the caller')
  assert.equal(client.closed?.code, 1000)
  assert.equal(upstream.headers.authorization, 'Token dg-secret')
  assert.equal(hop!.transport, 'ws')
  assert.equal(hop!.conversation_id, 'conv-7')
  assert.equal(hop!.turn, 2)
  assert.equal(hop!.model, 'nova-3')
  assert.ok(hop!.request_end_us >= finalizeAt && hop!.request_end_us < upstream.at.final!, 'user audio ends at Finalize')
  assert.ok(hop!.first_payload_us >= upstream.at.interim! && hop!.first_payload_us < upstream.at.final!, 'first interim transcript')
  assert.ok(hop!.final_us >= upstream.at.final!, 'final transcript')
  assert.equal(hop!.audio_ms, 200)
  assert.equal(hop!.error_kind, '')
  assert.equal(hop!.route, '/v1/listen')
})
