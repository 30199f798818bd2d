import { createHash, randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { wavDurationMs } from '../audio.js'
import { readBody, resetConnection, sendJson, wait } from '../http.js'
import { multipartBoundary, parseMultipart } from '../multipart.js'
import type { Job, KindFactory, ServiceContext } from '../service.js'
import { headerText } from '../text.js'
import { deepgramError, MODEL_UUID, modelInfo } from './deepgram-shape.js'
import { deepgramLive } from './deepgram-live.js'
import { openaiError, openaiInvalid, openaiNoRoute } from './openai-errors.js'
import { round, transcribe, wordTimings } from './transcript.js'

/** Bytes per second assumed for compressed uploads (128 kbit/s), whose duration the simulator does not decode. */
const COMPRESSED_BYTES_PER_S = 16_000
const RESPONSE_FORMATS = ['json', 'text', 'verbose_json', 'srt', 'vtt']

function audioMsOf(file: Buffer): number {
  return wavDurationMs(file) ?? (file.length / COMPRESSED_BYTES_PER_S) * 1000
}

/** Runs the recognition job: the service time, then the transcript at the load seen on admission. */
async function recognise(ctx: ServiceContext, req: IncomingMessage, job: Job, audioMs: number): Promise<string | undefined> {
  const load = ctx.pool.load()
  if (!(await wait(ctx.serviceMs(ctx.config.latency), job.signal))) {
    ctx.metrics.count('aborted')
    return undefined
  }
  if (job.drop) {
    ctx.metrics.count('dropped')
    resetConnection(req.socket)
    return undefined
  }
  return transcribe(ctx, headerText(req.headers['x-sim-text']), audioMs, load)
}

function timestamp(seconds: number, separator: string): string {
  const ms = Math.round(seconds * 1000)
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`
}

/** OpenAI-compatible `POST /v1/audio/transcriptions`: a multipart upload in, the transcript out. */
async function openaiTranscription(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const invalid = (body: unknown, status = 400) => {
    ctx.metrics.count('bad_request')
    sendJson(res, status, body, status === 413 ? { connection: 'close' } : {})
  }
  const boundary = multipartBoundary(req.headers['content-type'])
  if (boundary === undefined) return invalid(openaiInvalid(`Invalid Content-Type header (${req.headers['content-type'] ?? 'none'}), expected multipart/form-data.`, null))
  const raw = await readBody(req, ctx.maxBodyBytes)
  if (raw === 'too_large') return invalid(openaiError(413, `Maximum content size limit (${ctx.maxBodyBytes}) exceeded.`), 413)
  const form = parseMultipart(raw, boundary)
  if (form === undefined) return invalid(openaiInvalid('Could not parse multipart form', null))
  const file = form.get('file')
  if (file === undefined) return invalid(openaiInvalid("Missing required parameter: 'file'.", 'file', 'missing_required_parameter'))
  const model = form.get('model')?.data.toString('utf8')
  if (model === undefined || model === '') return invalid(openaiInvalid('you must provide a model parameter', 'model'))
  const format = form.get('response_format')?.data.toString('utf8') ?? 'json'
  if (!RESPONSE_FORMATS.includes(format)) return invalid(openaiInvalid(`Invalid value: '${format}'. Supported values are: ${RESPONSE_FORMATS.map((f) => `'${f}'`).join(', ')}.`, 'response_format', 'invalid_value'))
  const audioMs = audioMsOf(file.data)

  const job = await ctx.admit(req, res, openaiError)
  if (job === undefined) return
  try {
    const text = await recognise(ctx, req, job, audioMs)
    if (text === undefined) return
    ctx.metrics.count('ok')
    const seconds = round(audioMs / 1000)
    const headers = { 'x-sim-queue-ms': job.waitedMs.toFixed(1) }
    if (format === 'text' || format === 'srt' || format === 'vtt') {
      const body =
        format === 'text'
          ? `${text}\n`
          : format === 'srt'
            ? `1\n${timestamp(0, ',')} --> ${timestamp(seconds, ',')}\n${text}\n\n`
            : `WEBVTT\n\n${timestamp(0, '.')} --> ${timestamp(seconds, '.')}\n${text}\n\n`
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', ...headers })
      res.end(body)
      return
    }
    const usage = { type: 'duration', seconds: Math.ceil(seconds) }
    if (format === 'verbose_json') {
      sendJson(res, 200, { task: 'transcribe', language: 'english', duration: seconds, text, segments: [{ id: 0, seek: 0, start: 0, end: seconds, text, tokens: [], temperature: 0, avg_logprob: -0.2, compression_ratio: 1.2, no_speech_prob: 0.01 }], usage }, headers)
      return
    }
    sendJson(res, 200, { text, usage }, headers)
  } finally {
    job.release()
  }
}

/** Deepgram pre-recorded `POST /v1/listen`: the audio as the body, the transcript in Deepgram's result shape. */
async function deepgramPrerecorded(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const raw = await readBody(req, ctx.maxBodyBytes)
  if (raw === 'too_large') {
    ctx.metrics.count('bad_request')
    sendJson(res, 413, deepgramError(413, `Payload too large: the limit is ${ctx.maxBodyBytes} bytes`, 'PAYLOAD_TOO_LARGE'), { connection: 'close' })
    return
  }
  if (raw.length === 0) {
    ctx.metrics.count('bad_request')
    sendJson(res, 400, deepgramError(400, 'Bad Request: failed to process audio: corrupt or unsupported data'))
    return
  }
  const audioMs = audioMsOf(raw)
  const job = await ctx.admit(req, res, deepgramError)
  if (job === undefined) return
  try {
    const transcript = await recognise(ctx, req, job, audioMs)
    if (transcript === undefined) return
    ctx.metrics.count('ok')
    const model = url.searchParams.get('model') ?? 'nova-3'
    const duration = round(audioMs / 1000)
    sendJson(
      res,
      200,
      {
        metadata: { transaction_key: 'deprecated', request_id: randomUUID(), sha256: createHash('sha256').update(raw).digest('hex'), created: new Date().toISOString(), duration, channels: 1, models: [MODEL_UUID], model_info: { [MODEL_UUID]: modelInfo(model) } },
        results: { channels: [{ alternatives: [{ transcript, confidence: 0.97, words: wordTimings(transcript, 0, duration) }] }] },
      },
      { 'x-sim-queue-ms': job.waitedMs.toFixed(1), 'dg-request-id': randomUUID() },
    )
  } finally {
    job.release()
  }
}

/** STT: OpenAI transcriptions, Deepgram pre-recorded, and Deepgram live over WebSocket (`/v1/listen`). */
export const stt: KindFactory = (ctx) => {
  const live = deepgramLive(ctx)
  return {
    async request(req, res, url) {
      if (req.method === 'POST' && /^(\/v1)?\/audio\/transcriptions$/.test(url.pathname)) return openaiTranscription(ctx, req, res)
      if (req.method === 'POST' && url.pathname === '/v1/listen') return deepgramPrerecorded(ctx, req, res, url)
      ctx.metrics.count('bad_request')
      if (url.pathname.startsWith('/v1/listen')) sendJson(res, 404, deepgramError(404, `no route ${req.method ?? ''} ${url.pathname}`))
      else sendJson(res, 404, openaiNoRoute(req.method ?? 'GET', url.pathname))
    },
    upgrade: live,
  }
}
