import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { nowUs } from '../../src/clock.js'
import type { RunningProxy } from '../../src/proxy/index.js'
import { HopCollector } from '../support/hops.js'
import { startTestProxy } from '../support/proxy.js'
import { listenHttp, type Listening } from '../support/servers.js'

/** Events as an OpenAI-compatible server written in Python might send them: spaced JSON, CRLF line endings. */
const SPACED_CHAT = [
  { id: 'c1', model: 'llama-3-70b', choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] },
  { id: 'c1', model: 'llama-3-70b', choices: [{ index: 0, delta: { content: 'Hello' } }] },
  { id: 'c1', model: 'llama-3-70b', choices: [{ index: 0, delta: { content: ' there' } }] },
  { id: 'c1', model: 'llama-3-70b', choices: [], usage: { prompt_tokens: 12, completion_tokens: 2, total_tokens: 14 } },
]
const SPACED_RESPONSES = [
  { type: 'response.created', response: { id: 'r1', model: 'gpt-4.1-mini' } },
  { type: 'response.output_text.delta', delta: 'Hi' },
  { type: 'response.completed', response: { id: 'r1', model: 'gpt-4.1-mini', usage: { input_tokens: 9, output_tokens: 1 } } },
]

let upstream: Listening
let proxy: RunningProxy
/** when the upstream wrote the first event with content, per path */
const firstContentAt = new Map<string, number>()
const hops = new HopCollector()

before(async () => {
  upstream = await listenHttp((req, res) => {
    req.resume()
    req.on('end', async () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const events = req.url?.endsWith('/responses') === true ? SPACED_RESPONSES : SPACED_CHAT
      for (const [i, event] of events.entries()) {
        await new Promise((r) => setTimeout(r, 30))
        if (i === 1) firstContentAt.set(req.url ?? '', nowUs())
        // Python's json.dumps: ", " and ": " separators; one event cut in two writes
        const text = `data: ${JSON.stringify(event, null, 1).replace(/\n\s*/g, ' ')}\r\n\r\n`
        res.write(text.slice(0, 9))
        res.write(text.slice(9))
      }
      res.end('data: [DONE]\r\n\r\n')
    })
  })
  proxy = await startTestProxy([{ name: 'llm', component: 'llm', adapter: 'openai', target: `${upstream.url}/v1`, prefix: '/llm' }])
})
after(async () => {
  await proxy.close()
  await upstream.close()
  hops.dispose()
})

for (const path of ['/chat/completions', '/responses']) {
  test(`spaced JSON over CRLF (${path}): the first content delta is the first payload, and model and usage are read`, async () => {
    hops.clear()
    const res = await fetch(`${proxy.url}/llm${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"stream": true}' })
    const body = await res.text()
    assert.match(body, /"model": "/, 'the fixture is spaced JSON')
    assert.match(body, /\r\n\r\n/, 'the fixture uses CRLF')
    const [hop] = await hops.waitFor(1)
    const contentAt = firstContentAt.get(`/v1${path}`)!
    assert.ok(hop!.first_payload_us >= contentAt, 'the first payload is not before the first content delta (the empty role delta is no token)')
    assert.ok(hop!.first_payload_us > 0 && hop!.first_payload_us <= hop!.final_us, 'a first payload was seen, no later than the last delta')
    const expected = path === '/responses' ? ['gpt-4.1-mini', 9, 1] : ['llama-3-70b', 12, 2]
    assert.deepEqual([hop!.model, hop!.tokens_in, hop!.tokens_out], expected)
  })
}
