/**
 * Upstream test servers that speak the providers' wire formats, each recording (with the same clock as the proxy)
 * when it sent the moments the proxy must find. They stand in for paid providers that cannot run here.
 */
import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { nowUs } from '../../src/clock.js'
import type { WebSocket } from 'ws'
import { listenHttp, listenWs, readBody, sleep, type Listening } from './servers.js'

export const GAP_MS = 120

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/** The simulator's WAV header writer: 16-bit mono PCM at `rate`, `dataBytes` of audio following. */
export { wavHeader } from '../../src/sim/audio.js'
import { wavHeader } from '../../src/sim/audio.js'

export interface ChatMarks {
  firstContentAt: number
  secondContentAt: number
  lastContentAt: number
  endAt: number
  body: Buffer
  requestHeaders: IncomingMessage['headers']
  requestBody: Buffer
  path: string
}

function chunk(id: string, delta: object, extra: object = {}): string {
  return `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model: 'gpt-test', choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`
}

/**
 * OpenAI-compatible: streaming and non-streaming chat completions (with a tool call when the request offers tools),
 * speech (WAV, 24 kHz), transcriptions (multipart in, JSON out). `marks` holds the last request's moments.
 */
export async function openaiProvider(): Promise<Listening & { marks: ChatMarks[] }> {
  const marks: ChatMarks[] = []
  const server = await listenHttp((req, res) => void handle(req, res))
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const requestBody = await readBody(req)
    const path = (req.url ?? '').split('?')[0] ?? ''
    const m: ChatMarks = { firstContentAt: 0, secondContentAt: 0, lastContentAt: 0, endAt: 0, body: Buffer.alloc(0), requestHeaders: req.headers, requestBody, path }
    marks.push(m)
    const sent: Buffer[] = []
    const send = (text: string | Buffer) => {
      const b = Buffer.isBuffer(text) ? text : Buffer.from(text)
      sent.push(b)
      res.write(b)
    }
    const finish = () => {
      m.body = Buffer.concat(sent)
      m.endAt = nowUs()
      res.end()
    }
    const answerJson = (body: object) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      m.firstContentAt = nowUs()
      send(JSON.stringify(body))
      finish()
    }
    if (path.endsWith('/chat/completions')) {
      const request = JSON.parse(requestBody.toString('utf8')) as { stream?: boolean; tools?: unknown[] }
      if (request.stream !== true) {
        answerJson({ id: 'c1', object: 'chat.completion', created: 1, model: 'gpt-test', choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there.' }, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } })
        return
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      send(chunk('c1', { role: 'assistant', content: '' }))
      await sleep(GAP_MS)
      if (request.tools !== undefined) {
        m.firstContentAt = nowUs()
        send(chunk('c1', { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'book_table', arguments: '' } }] }))
        await sleep(GAP_MS)
        m.secondContentAt = m.lastContentAt = nowUs()
        send(chunk('c1', { tool_calls: [{ index: 0, function: { arguments: '{"party":2}' } }] }))
      } else {
        for (const [i, word] of ['Hello', ' there', ', how', ' can I help?'].entries()) {
          const at = nowUs()
          if (i === 0) m.firstContentAt = at
          if (i === 1) m.secondContentAt = at
          m.lastContentAt = at
          send(chunk('c1', { content: word }))
          await sleep(GAP_MS)
        }
      }
      await sleep(GAP_MS)
      send(chunk('c1', {}, { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }))
      send(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-test', choices: [], usage: { prompt_tokens: 17, completion_tokens: 5, total_tokens: 22 } })}\n\n`)
      send('data: [DONE]\n\n')
      finish()
      return
    }
    if (path.endsWith('/audio/speech')) {
      const rate = 24_000
      const audioBytes = rate * 2 // one second
      res.writeHead(200, { 'content-type': 'audio/wav' })
      await sleep(GAP_MS)
      m.firstContentAt = nowUs()
      send(wavHeader(rate, audioBytes))
      for (let i = 0; i < 4; i++) {
        if (i === 1) m.secondContentAt = nowUs()
        send(Buffer.alloc(audioBytes / 4, i + 1))
        m.lastContentAt = nowUs()
        await sleep(GAP_MS / 2)
      }
      finish()
      return
    }
    if (path.endsWith('/models') && req.method === 'GET') {
      answerJson({ object: 'list', data: [{ id: 'gpt-test', object: 'model', created: 1, owned_by: 'test' }] })
      return
    }
    if (path.endsWith('/audio/transcriptions')) {
      await sleep(GAP_MS)
      answerJson({ text: 'I would like to book a table for two.', usage: { type: 'duration', seconds: 2.5 } })
      return
    }
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: { message: `no route ${path}`, type: 'invalid_request_error' } }))
  }
  return { ...server, marks }
}

export interface WsMarks {
  /** every message the upstream received, as [sha256, isBinary] */
  received: Array<[string, boolean]>
  sent: Array<[string, boolean]>
  at: Record<string, number>
  url: string
  headers: IncomingMessage['headers']
}

/** Starts recording one upstream WebSocket session: what it receives, and a JSON sender that records what it sends. */
function record(sessions: WsMarks[], socket: WebSocket, req: IncomingMessage): { s: WsMarks; send: (obj: object) => void } {
  const s: WsMarks = { received: [], sent: [], at: {}, url: req.url ?? '', headers: req.headers }
  sessions.push(s)
  socket.on('message', (data: Buffer, isBinary) => s.received.push([sha256(data), isBinary]))
  const send = (obj: object) => {
    const text = JSON.stringify(obj)
    s.sent.push([sha256(text), false])
    socket.send(text)
  }
  return { s, send }
}

/** Deepgram-style live STT: answers audio with an interim result, and a Finalize with a final from_finalize result. */
export async function deepgramProvider(): Promise<Listening & { sessions: WsMarks[] }> {
  const sessions: WsMarks[] = []
  const server = await listenWs((socket, req) => {
    const { s, send } = record(sessions, socket, req)
    let frames = 0
    socket.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        frames++
        if (frames === 3) {
          s.at.interim = nowUs()
          send({ type: 'Results', is_final: false, speech_final: false, channel: { alternatives: [{ transcript: 'book a', confidence: 0.9 }] } })
        }
        return
      }
      const msg = JSON.parse(data.toString('utf8')) as { type: string }
      if (msg.type === 'Finalize') {
        setTimeout(() => {
          s.at.final = nowUs()
          send({ type: 'Results', is_final: true, speech_final: false, from_finalize: true, channel: { alternatives: [{ transcript: 'book a table for two', confidence: 0.95 }] } })
        }, GAP_MS)
      }
      if (msg.type === 'CloseStream') {
        send({ type: 'Metadata', request_id: 'r1', duration: 1.2 })
        socket.close(1000)
      }
    })
  })
  return { ...server, sessions }
}

/** ElevenLabs-style TTS: `POST /v1/text-to-speech/{voice}/stream` and WebSocket `…/stream-input`. */
export async function elevenlabsProvider(): Promise<Listening & { sessions: WsMarks[]; http: ChatMarks[] }> {
  const sessions: WsMarks[] = []
  const http: ChatMarks[] = []
  const ws = await listenWs((socket, req) => {
    const { s, send } = record(sessions, socket, req)
    socket.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString('utf8')) as { text: string }
      if (msg.text === '') {
        setTimeout(() => {
          for (let i = 0; i < 3; i++) {
            if (i === 0) s.at.firstAudio = nowUs()
            send({ audio: Buffer.alloc(16_000, i).toString('base64'), isFinal: null, normalizedAlignment: null })
          }
          s.at.final = nowUs()
          send({ isFinal: true })
        }, GAP_MS)
      }
    })
  })
  // the HTTP endpoint shares the same port: the ws server's http server answers 426 by default, so add a handler
  ws.server.removeAllListeners('request')
  ws.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const requestBody = await readBody(req)
      const m: ChatMarks = { firstContentAt: 0, secondContentAt: 0, lastContentAt: 0, endAt: 0, body: Buffer.alloc(0), requestHeaders: req.headers, requestBody, path: req.url ?? '' }
      http.push(m)
      res.writeHead(200, { 'content-type': 'audio/pcm' })
      await sleep(GAP_MS)
      const parts: Buffer[] = []
      for (let i = 0; i < 3; i++) {
        const part = Buffer.alloc(16_000, i + 7)
        if (i === 0) m.firstContentAt = nowUs()
        if (i === 1) m.secondContentAt = nowUs()
        parts.push(part)
        res.write(part)
        await sleep(GAP_MS / 2)
      }
      m.body = Buffer.concat(parts)
      m.endAt = nowUs()
      res.end()
    })()
  })
  return { ...ws, url: ws.url.replace('ws:', 'http:'), sessions, http }
}

/** OpenAI-Realtime-style S2S: session.created, then per commit + response.create: audio deltas and response.done. */
export async function realtimeProvider(): Promise<Listening & { sessions: WsMarks[] }> {
  const sessions: WsMarks[] = []
  const server = await listenWs((socket, req) => {
    const { s, send } = record(sessions, socket, req)
    send({ type: 'session.created', event_id: 'e0', session: { id: 's1', model: 'gpt-realtime' } })
    let responses = 0
    socket.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString('utf8')) as { type: string }
      if (msg.type === 'input_audio_buffer.commit') send({ type: 'input_audio_buffer.committed', event_id: 'e1', item_id: 'i1' })
      if (msg.type === 'response.create') {
        const n = ++responses
        setTimeout(() => {
          s.at[`firstAudio${n}`] = nowUs()
          send({ type: 'response.audio.delta', event_id: 'e2', response_id: `r${n}`, delta: Buffer.alloc(4800).toString('base64') })
          setTimeout(() => {
            s.at[`lastAudio${n}`] = nowUs()
            send({ type: 'response.audio.delta', event_id: 'e3', response_id: `r${n}`, delta: Buffer.alloc(4800).toString('base64') })
            send({ type: 'response.audio.done', event_id: 'e4', response_id: `r${n}` })
            s.at[`done${n}`] = nowUs()
            send({ type: 'response.done', event_id: 'e5', response: { id: `r${n}`, status: 'completed', usage: { total_tokens: 70, input_tokens: 50, output_tokens: 20 } } })
          }, GAP_MS)
        }, GAP_MS)
      }
    })
  })
  return { ...server, sessions }
}
