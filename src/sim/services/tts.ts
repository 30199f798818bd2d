import type { IncomingMessage, ServerResponse } from 'node:http'
import { elevenlabsEncoder, OPENAI_FORMATS, openaiEncoder, speechMs, type AudioEncoder } from '../audio-format.js'
import { readBody, resetConnection, sendJson, writeChunk, type ErrorShaper } from '../http.js'
import type { KindFactory, ServiceContext } from '../service.js'
import { synthesize } from '../synthesis.js'
import { elevenlabsError, elevenlabsValidation } from './elevenlabs-shape.js'
import { elevenlabsStreamInput } from './elevenlabs-ws.js'
import { openaiError, openaiInvalid, openaiNoRoute, readOpenaiJson } from './openai-errors.js'

/** OpenAI's limit on `input`. */
const MAX_INPUT_CHARS = 4096

/** Admits the request and streams the audio; the worker is held until the last byte. */
async function stream(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse, encoder: AudioEncoder, totalMs: number, shape: ErrorShaper, headers: Record<string, string>): Promise<void> {
  const job = await ctx.admit(req, res, shape)
  if (job === undefined) return
  try {
    res.writeHead(200, { 'content-type': encoder.contentType, 'x-sim-queue-ms': job.waitedMs.toFixed(1), 'x-sim-audio-ms': totalMs.toFixed(0), ...headers })
    const end = await synthesize(ctx, encoder, totalMs, (bytes) => writeChunk(res, bytes, job.signal), { signal: job.signal, ...(job.drop ? { dropAt: 0.5 } : {}) })
    ctx.metrics.count(end)
    if (end === 'dropped') resetConnection(req.socket)
    else if (end === 'ok') res.end()
  } finally {
    job.release()
  }
}

/** OpenAI-compatible `POST /v1/audio/speech`: JSON in, WAV, PCM or MP3 of the text's spoken duration out. */
async function openaiSpeech(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const invalid = (status: number, body: unknown) => {
    ctx.metrics.count('bad_request')
    sendJson(res, status, body, status === 413 ? { connection: 'close' } : {})
  }
  const request = await readOpenaiJson(ctx, req, res)
  if (request === undefined) return
  const body = request.body
  if (typeof body.model !== 'string' || body.model === '') return invalid(400, openaiInvalid('you must provide a model parameter', 'model'))
  if (typeof body.input !== 'string' || body.input === '') return invalid(400, openaiInvalid("Missing required parameter: 'input'.", 'input', 'missing_required_parameter'))
  if (body.input.length > MAX_INPUT_CHARS) return invalid(400, openaiInvalid(`Invalid 'input': string too long. Expected a string with maximum length ${MAX_INPUT_CHARS}, but got a string with length ${body.input.length} instead.`, 'input', 'string_above_max_length'))
  if (typeof body.voice !== 'string' && (body.voice === null || typeof body.voice !== 'object')) return invalid(400, openaiInvalid("Missing required parameter: 'voice'.", 'voice', 'missing_required_parameter'))
  const speed = body.speed === undefined ? 1 : Number(body.speed)
  if (!(speed >= 0.25 && speed <= 4)) return invalid(400, openaiInvalid(`Invalid 'speed': ${String(body.speed)}. Expected a value between 0.25 and 4.0.`, 'speed', 'invalid_value'))
  const format = typeof body.response_format === 'string' ? body.response_format : 'mp3'
  const encoder = openaiEncoder(format)
  if (encoder === undefined) return invalid(400, openaiInvalid(`Invalid value: '${format}'. The simulator produces ${OPENAI_FORMATS.map((f) => `'${f}'`).join(', ')}.`, 'response_format', 'invalid_value'))
  await stream(ctx, req, res, encoder, speechMs(body.input, ctx.config.chars_per_s, speed), openaiError, {})
}

/** ElevenLabs `POST /v1/text-to-speech/{voice_id}[/stream]`: JSON in, the audio streamed in `output_format`. */
async function elevenlabsSpeech(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const invalid = (status: number, body: unknown) => {
    ctx.metrics.count('bad_request')
    sendJson(res, status, body, status === 413 ? { connection: 'close' } : {})
  }
  const format = url.searchParams.get('output_format') ?? 'mp3_44100_128'
  const encoder = elevenlabsEncoder(format)
  if (encoder === undefined) return invalid(400, elevenlabsError(400, `Invalid output format for the simulator: ${format}. Use pcm_<rate>, ulaw_8000 or mp3_<rate>_<kbps>.`, 'invalid_output_format'))
  const raw = await readBody(req, ctx.maxBodyBytes)
  if (raw === 'too_large') return invalid(413, elevenlabsError(413, `Request body over ${ctx.maxBodyBytes} bytes`))
  let body: { text?: unknown }
  try {
    body = JSON.parse(raw.toString('utf8')) as { text?: unknown }
  } catch (err) {
    return invalid(422, elevenlabsValidation(['body'], `JSON decode error: ${(err as Error).message}`, 'json_invalid'))
  }
  if (body === null || typeof body !== 'object' || typeof body.text !== 'string') return invalid(422, elevenlabsValidation(['body', 'text'], 'Field required'))
  if (body.text.trim() === '') return invalid(400, elevenlabsError(400, 'Text must not be empty.', 'invalid_text'))
  await stream(ctx, req, res, encoder, speechMs(body.text, ctx.config.chars_per_s), elevenlabsError, { 'request-id': `sim-${Math.floor(ctx.rng.next() * 1e12).toString(36)}` })
}

const ELEVENLABS_HTTP = /^\/v1\/text-to-speech\/[^/]+(\/stream)?$/

/** TTS: OpenAI speech, ElevenLabs HTTP streaming, and ElevenLabs WebSocket input streaming. */
export const tts: KindFactory = (ctx) => ({
  async request(req, res, url) {
    if (req.method === 'POST' && /^(\/v1)?\/audio\/speech$/.test(url.pathname)) return openaiSpeech(ctx, req, res)
    if (req.method === 'POST' && ELEVENLABS_HTTP.test(url.pathname)) return elevenlabsSpeech(ctx, req, res, url)
    ctx.metrics.count('bad_request')
    if (url.pathname.startsWith('/v1/text-to-speech')) sendJson(res, 404, elevenlabsError(404, `no route ${req.method ?? ''} ${url.pathname}`))
    else sendJson(res, 404, openaiNoRoute(req.method ?? 'GET', url.pathname))
  },
  upgrade: elevenlabsStreamInput(ctx),
})
