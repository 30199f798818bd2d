import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, test } from 'node:test'
import OpenAI from 'openai'
import { WebSocket } from 'ws'
import { simulate } from '../support/sim.js'

let sim: Awaited<ReturnType<typeof simulate>>
const fast = { median_ms: 5 }

before(async () => {
  sim = await simulate({
    services: [
      { name: 'llm', kind: 'llm', ttft: fast, tokens_per_s: 1000 },
      { name: 'stt', kind: 'stt', latency: fast },
      { name: 'tts', kind: 'tts', ttfb: fast, realtime_factor: 0 },
      { name: 'api', kind: 'backend', latency: fast },
    ],
  })
})
after(() => sim.close())

async function post(url: string, body: string | FormData, contentType?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', body, headers: contentType === undefined ? {} : { 'content-type': contentType } })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

test('a chat request that is not JSON gets OpenAI\'s 400 invalid_request_error', async () => {
  const { status, body } = await post(`${sim.url('llm')}/v1/chat/completions`, '{"model": "m", "messages": [', 'application/json')
  assert.equal(status, 400)
  assert.equal((body.error as { type: string }).type, 'invalid_request_error')
  assert.match((body.error as { message: string }).message, /could not parse the JSON body/)
})

test('the openai SDK raises BadRequestError naming the parameter for an empty messages list and a bad role', async () => {
  const client = new OpenAI({ apiKey: 'sk-sim', baseURL: `${sim.url('llm')}/v1`, maxRetries: 0 })
  await assert.rejects(client.chat.completions.create({ model: 'm', messages: [] }), (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'messages')
  await assert.rejects(client.chat.completions.create({ model: 'm', messages: [{ role: 'robot', content: 'x' } as never] }), (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'messages[0].role')
})

test('a transcription without a file, or not multipart, gets OpenAI\'s 400 naming what is missing', async () => {
  const form = new FormData()
  form.set('model', 'whisper-1')
  const noFile = await post(`${sim.url('stt')}/v1/audio/transcriptions`, form)
  assert.equal(noFile.status, 400)
  assert.equal((noFile.body.error as { param: string }).param, 'file')
  const json = await post(`${sim.url('stt')}/v1/audio/transcriptions`, '{}', 'application/json')
  assert.equal(json.status, 400)
  assert.match((json.body.error as { message: string }).message, /expected multipart\/form-data/)
})

test('speech without input, and in a format the simulator does not produce, gets OpenAI\'s 400', async () => {
  const missing = await post(`${sim.url('tts')}/v1/audio/speech`, JSON.stringify({ model: 'tts-1', voice: 'alloy' }), 'application/json')
  assert.equal((missing.body.error as { param: string }).param, 'input')
  const opus = await post(`${sim.url('tts')}/v1/audio/speech`, JSON.stringify({ model: 'tts-1', voice: 'alloy', input: 'hi', response_format: 'opus' }), 'application/json')
  assert.equal(opus.status, 400)
  assert.equal((opus.body.error as { param: string }).param, 'response_format')
})

test('ElevenLabs speech without text gets its 422 validation error', async () => {
  const { status, body } = await post(`${sim.url('tts')}/v1/text-to-speech/voice1/stream?output_format=pcm_16000`, JSON.stringify({ model_id: 'm' }), 'application/json')
  assert.equal(status, 422)
  assert.deepEqual((body.detail as Array<{ loc: string[] }>)[0]?.loc, ['body', 'text'])
})

test('a Deepgram live stream with an unsupported encoding is refused at the handshake with Deepgram\'s error', async () => {
  const ws = new WebSocket(`${sim.url('stt').replace('http:', 'ws:')}/v1/listen?encoding=opus&sample_rate=48000`)
  const response = await new Promise<{ status: number; body: string }>((resolve) =>
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }),
  )
  assert.equal(response.status, 400)
  assert.match((JSON.parse(response.body) as { err_msg: string }).err_msg, /Unsupported encoding/)
})

test('a backend request with a body that is not JSON gets a 400 with a code; one over the size limit a 413', async () => {
  const bad = await post(`${sim.url('api')}/v1/bookings`, 'date=today', 'application/json')
  assert.equal(bad.status, 400)
  assert.equal((bad.body.error as { code: string }).code, 'invalid_json')
  // the declared length is enough: the answer comes before the body is read
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${sim.url('api')}/v1/bookings`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(26 * 1024 * 1024) } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.write('{"date":')
  })
  assert.equal(status, 413)
})

test('after every bad request each service still answers the next good one', async () => {
  for (const name of ['llm', 'stt', 'tts', 'api']) assert.equal((await fetch(`${sim.url(name)}/healthz`)).status, 200)
  const client = new OpenAI({ apiKey: 'sk-sim', baseURL: `${sim.url('llm')}/v1`, maxRetries: 0 })
  const answer = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hello' }] })
  assert.ok((answer.choices[0]?.message.content ?? '').length > 0)
})
