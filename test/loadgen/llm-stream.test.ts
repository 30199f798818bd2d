import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { after, before, test } from 'node:test'
import { cascadedSpeaker } from '../../src/loadgen/cascaded.js'
import { callerAgent } from '../../src/loadgen/http.js'
import { newProgress, type ConversationIo } from '../../src/loadgen/turn.js'
import { listenHttp, type Listening } from '../support/servers.js'

/** A chat stream as some servers send it: spaced JSON, CRLF, two tool calls at once with their deltas interleaved. */
function toolStream(): string[] {
  const chunk = (delta: object) => `data: ${JSON.stringify({ choices: [{ index: 0, delta }] }, null, 1).replace(/\n\s*/g, ' ')}\r\n\r\n`
  return [
    chunk({ role: 'assistant', content: null }),
    chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'check_availability', arguments: '' } }] }),
    chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'check_availability', arguments: '' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"date": "fri' } }] }),
    chunk({ tool_calls: [{ index: 1, function: { arguments: '{"date": "sat' } }] }),
    chunk({ tool_calls: [{ index: 1, function: { arguments: '"}' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '"}' } }] }),
    'data: [DONE]\r\n\r\n',
  ]
}

const ANSWER = 'Friday and Saturday both work – café tables are free.'

let server: Listening
const chats: Array<{ messages: Array<{ role: string; tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>; tool_call_id?: string; content: string | null }> }> = []
const backendPaths: string[] = []

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c)
  return Buffer.concat(chunks)
}

before(async () => {
  server = await listenHttp(async (req, res) => {
    const body = await bodyOf(req)
    const path = req.url ?? ''
    if (path.endsWith('/audio/transcriptions')) return void res.end('{"text": "is there a table friday or saturday"}')
    if (path.endsWith('/audio/speech')) return void res.end(Buffer.alloc(4800))
    if (path.startsWith('/api/')) {
      backendPaths.push(path)
      return void res.end('{"available": true}')
    }
    const chat = JSON.parse(body.toString('utf8')) as (typeof chats)[number]
    chats.push(chat)
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    // the first request gets the tool calls; the second (with their results) the answer, a UTF-8 character cut in two
    const parts = chats.length === 1 ? toolStream() : [`data: {"choices": [{"index": 0, "delta": {"content": ${JSON.stringify(ANSWER)}}}]}\r\n\r\n`, 'data: [DONE]\r\n\r\n']
    for (const part of parts) {
      const bytes = Buffer.from(part)
      const cut = bytes.indexOf(Buffer.from('é')) + 1 || Math.floor(bytes.length / 2)
      res.write(bytes.subarray(0, cut))
      await new Promise((r) => setTimeout(r, 2))
      res.write(bytes.subarray(cut))
    }
    res.end()
  })
})
after(() => server.close())

test('the load generator reads a spaced, CRLF chat stream with two parallel tool calls: it calls both tools and sends both results back', async () => {
  const io: ConversationIo = {
    runId: 'r',
    conversationId: 'c',
    targets: { stt: { url: `${server.url}/v1`, protocol: 'openai-upload' }, llm: { url: `${server.url}/v1` }, tts: { url: `${server.url}/v1`, protocol: 'openai' }, backend: { url: `${server.url}/api` } },
    credentials: { openai: undefined, deepgram: undefined, elevenlabs: undefined },
    agent: callerAgent(8),
    timeScale: 50,
    wordsPerS: 3,
    tools: [{ name: 'check_availability', description: 'free tables on a date', parameters: { type: 'object', properties: { date: { type: 'string' } } }, endpoint: { method: 'GET', path: '/availability/{date}' } }],
    models: { llm: 'm', tts: 't', voice: 'v', stt: 's', s2s: 'x' },
  }
  const progress = newProgress()
  const speaker = cascadedSpeaker(io)
  try {
    await speaker.turn(
      { say: 'Is there a table Friday or Saturday?', audio: undefined, expect: { intent: 'check_availability', keywords: [] }, tool: { name: 'check_availability', args: { date: 'fri' } }, reply: ANSWER },
      { turn: 1, headers: {}, signal: new AbortController().signal, progress, onUserEnd: () => {} },
    )
  } finally {
    speaker.close()
    await io.agent.close()
  }
  assert.deepEqual(backendPaths.sort(), ['/api/availability/fri', '/api/availability/sat'])
  assert.equal(chats.length, 2)
  const [assistant, ...results] = chats[1]!.messages.slice(-3)
  assert.deepEqual(assistant?.tool_calls?.map((c) => [c.id, c.function.name, c.function.arguments]), [['call_a', 'check_availability', '{"date": "fri"}'], ['call_b', 'check_availability', '{"date": "sat"}']])
  assert.deepEqual(results.map((m) => [m.role, m.tool_call_id, m.content]), [['tool', 'call_a', '{"available": true}'], ['tool', 'call_b', '{"available": true}']])
  assert.equal(progress.answer, ANSWER, 'the answer arrives whole, its é joined across the cut')
  assert.equal(progress.toolCalled, 'check_availability,check_availability')
})
