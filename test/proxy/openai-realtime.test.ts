import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { nowUs } from '../../src/clock.js'
import type { RunningProxy } from '../../src/proxy/index.js'
import { HopCollector } from '../support/hops.js'
import { realtimeProvider, sha256 } from '../support/providers.js'
import { startTestProxy } from '../support/proxy.js'
import { RecordingSocket } from '../support/ws-client.js'

let provider: Awaited<ReturnType<typeof realtimeProvider>>
let proxy: RunningProxy
const hops = new HopCollector()

before(async () => {
  provider = await realtimeProvider()
  const target = `${provider.url.replace('http', 'ws')}/v1`
  proxy = await startTestProxy([
    { name: 's2s', component: 's2s', adapter: 'openai-realtime', target, prefix: '/s2s' },
    // one OpenAI base URL for everything, configured as the LLM: its /realtime is still speech-to-speech
    { name: 'openai', component: 'llm', adapter: 'openai', target, prefix: '/openai' },
  ])
})
after(async () => {
  await proxy.close()
  await provider.close()
  hops.dispose()
})

async function twoResponses(prefix: string): Promise<void> {
  const client = new RecordingSocket(`${proxy.url.replace('http:', 'ws:')}${prefix}/realtime?model=gpt-realtime`, { headers: { authorization: 'Bearer sk-rt' } })
  await client.opened()
  const commits: number[] = []
  for (let turn = 1; turn <= 2; turn++) {
    for (let i = 0; i < 5; i++) client.socket.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(960).toString('base64') }))
    commits.push(nowUs())
    client.socket.send(JSON.stringify({ type: 'input_audio_buffer.commit' }))
    client.socket.send(JSON.stringify({ type: 'response.create' }))
    await client.until(() => client.messages.some((m) => m.data.includes(`"r${turn}","status":"completed"`)), `response ${turn}`)
  }
  client.socket.close(1000)
  const got = await hops.waitFor(2)
  const upstream = provider.sessions.at(-1)!
  assert.equal(upstream.url, '/v1/realtime?model=gpt-realtime')
  assert.equal(upstream.headers.authorization, 'Bearer sk-rt')
  assert.deepEqual(client.messages.map((m) => [sha256(m.data), m.isBinary]), upstream.sent)
  for (const [i, hop] of got.entries()) {
    const n = i + 1
    assert.equal(hop.turn, n)
    assert.equal(hop.component, 's2s')
    assert.ok(hop.request_end_us >= commits[i]!, 'the user audio ends at the commit')
    assert.ok(hop.first_payload_us >= upstream.at[`firstAudio${n}`]! && hop.first_payload_us < upstream.at[`lastAudio${n}`]!, 'first audio delta')
    assert.ok(hop.end_us >= upstream.at[`done${n}`]!)
    assert.equal(hop.tokens_in, 50)
    assert.equal(hop.tokens_out, 20)
    assert.equal(hop.audio_ms, 100) // five appends of 960 bytes of 24 kHz PCM16
    assert.equal(hop.model, 'gpt-realtime')
    assert.equal(hop.conversation_id, got[0]!.conversation_id, 'one conversation per connection')
  }
}

test('realtime S2S: one hop per response, from commit to the first audio delta, with usage; turns numbered in order', async () => {
  await twoResponses('/s2s')
})

test('the openai adapter reads a /realtime WebSocket as the realtime adapter does, as s2s, though its upstream is configured as llm', async () => {
  hops.clear()
  await twoResponses('/openai')
})
