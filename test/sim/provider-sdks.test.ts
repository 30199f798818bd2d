import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { DeepgramClient } from '@deepgram/sdk'
import { ElevenLabsClient } from '@elevenlabs/elevenlabs-js'
import OpenAI, { toFile } from 'openai'
import { silencePcm, speechPcm, wavHeader } from '../../src/sim/index.js'
import { simulate } from '../support/sim.js'

let sim: Awaited<ReturnType<typeof simulate>>
const fast = { median_ms: 20, p95_ms: 40 }

before(async () => {
  sim = await simulate({
    seed: 3,
    services: [
      { name: 'llm', kind: 'llm', ttft: fast, tokens_per_s: 500 },
      { name: 'stt', kind: 'stt', latency: fast, wer: { base: 0, growth: 0 } },
      { name: 'tts', kind: 'tts', ttfb: fast, realtime_factor: 0.05 },
    ],
  })
})
after(() => sim.close())

const openai = (name: string, headers: Record<string, string> = {}) => new OpenAI({ apiKey: 'sk-sim', baseURL: `${sim.url(name)}/v1`, maxRetries: 0, defaultHeaders: headers })

test('the openai SDK streams a chat completion with a tool call from the simulator when the request offers tools', async () => {
  const stream = await openai('llm').chat.completions.create({
    model: 'sim-llm',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'Can you check availability for two on Friday?' }],
    tools: [{ type: 'function', function: { name: 'check_availability', parameters: { type: 'object', properties: { date: { type: 'string' }, party: { type: 'integer' } }, required: ['date', 'party'] } } }],
  })
  let name = ''
  let args = ''
  let finish: string | null | undefined
  let usage: OpenAI.CompletionUsage | null | undefined
  for await (const chunk of stream) {
    const call = chunk.choices[0]?.delta.tool_calls?.[0]
    name += call?.function?.name ?? ''
    args += call?.function?.arguments ?? ''
    finish = chunk.choices[0]?.finish_reason ?? finish
    usage = chunk.usage ?? usage
  }
  assert.equal(name, 'check_availability')
  assert.deepEqual(JSON.parse(args), { date: '2026-12-04', party: 2 })
  assert.equal(finish, 'tool_calls')
  assert.ok(usage !== null && usage !== undefined && usage.completion_tokens > 0 && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens)
})

test('the openai SDK streams the answer after a tool result, word by word, and it is the reply the caller asked for', async () => {
  const stream = await openai('llm', { 'x-sim-reply': encodeURIComponent('Friday at seven is free — shall I book it?') }).chat.completions.create({
    model: 'sim-llm',
    stream: true,
    messages: [
      { role: 'user', content: 'Check availability for Friday' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'check_availability', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"slots":["19:00"]}' },
    ],
    tools: [{ type: 'function', function: { name: 'check_availability' } }],
  })
  const deltas: string[] = []
  for await (const chunk of stream) if (chunk.choices[0]?.delta.content) deltas.push(chunk.choices[0].delta.content)
  assert.equal(deltas.join(''), 'Friday at seven is free — shall I book it?')
  assert.ok(deltas.length >= 8, 'one token per word')
})

test('the openai SDK gets a non-streamed chat completion with usage', async () => {
  const completion = await openai('llm').chat.completions.create({ model: 'sim-llm', messages: [{ role: 'user', content: 'What time do you open?' }] })
  const text = completion.choices[0]?.message.content ?? ''
  assert.ok(text.split(' ').length >= 8, text)
  assert.equal(completion.choices[0]?.finish_reason, 'stop')
  assert.equal(completion.model, 'sim-llm')
})

test('the openai SDK uploads audio for a transcription and gets the caller\'s expected text back', async () => {
  const pcm = speechPcm(16_000, 1500)
  const wav = Buffer.concat([wavHeader(16_000, pcm.length), pcm])
  const result = await openai('stt', { 'x-sim-text': encodeURIComponent('I would like to book a table for two') }).audio.transcriptions.create({ model: 'whisper-1', file: await toFile(wav, 'turn.wav', { type: 'audio/wav' }) })
  assert.equal(result.text, 'I would like to book a table for two')
  const verbose = await openai('stt').audio.transcriptions.create({ model: 'whisper-1', response_format: 'verbose_json', file: await toFile(wav, 'turn.wav', { type: 'audio/wav' }) })
  assert.equal(verbose.duration, 1.5)
})

test('the openai SDK streams speech: a valid WAV as long as the text takes to say', async () => {
  const input = 'Your table for two is booked for Friday at seven.'
  const response = await openai('tts').audio.speech.create({ model: 'tts-1', voice: 'alloy', input, response_format: 'wav' })
  const audio = Buffer.from(await response.arrayBuffer())
  assert.equal(audio.toString('latin1', 0, 4), 'RIFF')
  assert.equal(audio.readUInt32LE(24), 24_000)
  const dataBytes = audio.readUInt32LE(40)
  assert.equal(audio.length, 44 + dataBytes, 'the header says how many bytes follow, and that many do')
  const ms = (dataBytes / 48_000) * 1000
  assert.ok(Math.abs(ms - (input.length / 15) * 1000) <= 1, `${ms} ms for ${input.length} characters at 15 per second`)
})

test('the @deepgram/sdk live client streams audio and gets a final transcript at the endpoint and on Finalize', async () => {
  const client = new DeepgramClient({ apiKey: 'dg-sim', baseUrl: sim.url('stt').replace('http:', 'ws:') })
  const connection = await client.listen.v1.connect({ model: 'nova-3', encoding: 'linear16', sample_rate: 16000, interim_results: 'true', endpointing: 300, headers: { 'x-sim-text': encodeURIComponent('book a table for two') } } as never)
  const results: Array<{ transcript: string; is_final: boolean; speech_final: boolean; from_finalize: boolean }> = []
  let metadata = false
  const closed = new Promise<void>((resolve) => connection.on('close', () => resolve()))
  connection.on('message', (m) => {
    if (m.type === 'Results') results.push({ transcript: m.channel.alternatives[0]?.transcript ?? '', is_final: m.is_final === true, speech_final: m.speech_final === true, from_finalize: (m as { from_finalize?: boolean }).from_finalize === true })
    if (m.type === 'Metadata') metadata = true
  })
  connection.connect()
  await connection.waitForOpen()
  // 1.2 s of speech in 20 ms frames, then 400 ms of silence: the endpoint
  const speech = speechPcm(16_000, 1200)
  for (let i = 0; i < speech.length; i += 640) connection.sendMedia(new Uint8Array(speech.subarray(i, i + 640)))
  const silence = silencePcm(16_000, 400)
  for (let i = 0; i < silence.length; i += 640) connection.sendMedia(new Uint8Array(silence.subarray(i, i + 640)))
  // a second utterance, ended by Finalize instead
  for (let i = 0; i < speech.length; i += 640) connection.sendMedia(new Uint8Array(speech.subarray(i, i + 640)))
  connection.sendFinalize({ type: 'Finalize' })
  connection.sendCloseStream({ type: 'CloseStream' })
  await closed
  const finals = results.filter((r) => r.is_final)
  assert.deepEqual(finals, [
    { transcript: 'book a table for two', is_final: true, speech_final: true, from_finalize: false },
    { transcript: 'book a table for two', is_final: true, speech_final: false, from_finalize: true },
  ])
  assert.ok(results.some((r) => !r.is_final && r.transcript !== ''), 'interim results while speech goes on')
  assert.ok(metadata, 'CloseStream ends with a Metadata message')
})

test('the @elevenlabs/elevenlabs-js client streams speech as PCM of the spoken duration', async () => {
  const client = new ElevenLabsClient({ apiKey: 'xi-sim', baseUrl: sim.url('tts'), maxRetries: 0 })
  const text = 'Your order is out for delivery.'
  const stream = await client.textToSpeech.stream('voice1', { text, modelId: 'eleven_flash_v2_5', outputFormat: 'pcm_16000' })
  const parts: Uint8Array[] = []
  for await (const part of stream) parts.push(part)
  const audio = Buffer.concat(parts)
  assert.ok(parts.length > 1, 'streamed in pieces')
  assert.equal(audio.length, Math.round((16_000 * ((text.length / 15) * 1000)) / 1000) * 2)
})
