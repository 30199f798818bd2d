import { pcmMs, wavByteRate, wavDataStart } from './audio.js'
import { MultipartScanner, multipartBoundary } from './multipart.js'
import { SseReader } from '../../sse.js'
import type { Component } from '../../types.js'
import { openaiRealtimeAdapter } from './openai-realtime.js'
import type { Adapter, HopMarks, HttpObserver, RequestInfo } from './types.js'
import { auxiliaryUnlessPost, jsonBodyObserver } from './http.js'

/**
 * A content, tool-call or refusal delta of chat completions, or a text/function delta of the Responses API; JSON
 * compact or spaced (`"content": "…"`, as Python's json.dumps writes it).
 */
const CHAT_DELTA = /"(?:content|refusal|arguments)"\s*:\s*"(?!")|"tool_calls"\s*:\s*\[/
const RESPONSES_DELTA = /"type"\s*:\s*"response\.(?:output_text|function_call_arguments|refusal)\.delta"/
const MODEL = /"model"\s*:\s*"([^"]+)"/
const USAGE = /"usage"\s*:\s*\{/

interface Usage {
  prompt_tokens?: number
  completion_tokens?: number
  input_tokens?: number
  output_tokens?: number
  type?: string
  seconds?: number
}

function noteUsage(marks: HopMarks, usage: Usage | undefined | null): void {
  if (usage === undefined || usage === null) return
  marks.usage(usage.prompt_tokens ?? usage.input_tokens ?? 0, usage.completion_tokens ?? usage.output_tokens ?? 0)
}

/**
 * Chat completions and Responses API streams: the first content or tool-call delta is the first token, the last delta
 * is final, usage comes from the chunk that carries it. Only the first event (for the model) and the usage event are
 * parsed as JSON; the rest are matched as text, so a long stream costs little.
 */
function sseTokens(marks: HopMarks): HttpObserver {
  let sawModel = false
  const reader = new SseReader((data) => {
    if (data === '[DONE]') return
    if (!sawModel) {
      const model = MODEL.exec(data)
      if (model?.[1] !== undefined) {
        marks.model(model[1])
        sawModel = true
      }
    }
    if (CHAT_DELTA.test(data) || RESPONSES_DELTA.test(data)) {
      marks.firstPayload()
      marks.final()
    }
    if (USAGE.test(data)) {
      try {
        const event = JSON.parse(data) as { usage?: Usage; response?: { usage?: Usage } }
        noteUsage(marks, event.usage ?? event.response?.usage)
      } catch {
        // not JSON after all: the moment is still recorded, only the token counts are missing
      }
    }
  })
  return {
    onResponseData: (chunk) => reader.push(chunk),
    onResponseEnd: () => reader.end(),
  }
}

/**
 * A JSON answer (non-streamed chat, transcription): first byte is the payload, end is final, usage read at the end.
 * A transcription's audio duration is its `duration` (verbose_json) when it has one, else its billed `usage.seconds`.
 */
function jsonAnswer(marks: HopMarks, options = { audioFromAnswer: true }): HttpObserver & { audioMs(): number | undefined } {
  let audioMs: number | undefined
  const observer = jsonBodyObserver(marks, (json) => {
    const body = json as { model?: string; usage?: Usage; duration?: number }
    if (typeof body.model === 'string') marks.model(body.model)
    if (body.usage?.type === 'duration') {
      if (typeof body.usage.seconds === 'number') audioMs = body.usage.seconds * 1000
    } else noteUsage(marks, body.usage)
    if (typeof body.duration === 'number') audioMs = body.duration * 1000
    if (options.audioFromAnswer && audioMs !== undefined) marks.audio(audioMs)
  })
  return { ...observer, audioMs: () => audioMs }
}

/**
 * Transcription and translation: a JSON (or text) answer, the model and the audio's duration read from the upload as
 * it streams past (a WAV file's header and size). Without a WAV upload the answer's `duration` (verbose_json) gives
 * the duration, else its billed `usage.seconds` (whole seconds, rounded up).
 */
function transcription(request: RequestInfo, marks: HopMarks): HttpObserver {
  const answer = jsonAnswer(marks, { audioFromAnswer: false })
  const boundary = multipartBoundary(request.headers['content-type'])
  let uploadMs: number | undefined
  const scanner =
    boundary === undefined
      ? undefined
      : new MultipartScanner(boundary, (part) => {
          if (part.name === 'model' && part.filename === undefined) marks.model(part.head.toString('utf8').trim())
          if (part.name === 'file') {
            const start = wavDataStart(part.head)
            const rate = wavByteRate(part.head)
            if (start > 0 && rate > 0) uploadMs = ((part.bytes - start) / rate) * 1000
          }
        })
  return {
    onRequestData: (chunk) => scanner?.push(chunk),
    onResponseData: (chunk) => answer.onResponseData?.(chunk),
    onResponseEnd() {
      answer.onResponseEnd?.()
      const fromAnswer = answer.audioMs()
      const ms = uploadMs ?? fromAnswer
      if (ms !== undefined) marks.audio(ms)
    },
  }
}

/** Speech: the first audio byte is TTFB; duration is counted for WAV and raw PCM (24 kHz, 16-bit mono). */
function speech(marks: HopMarks): HttpObserver {
  let sawRequest = false
  let audioBytes = 0
  let byteRate = 0
  return {
    onRequestData(chunk) {
      if (sawRequest) return
      sawRequest = true // the request is small JSON; its model is in the first chunk
      const model = /"model"\s*:\s*"([^"]+)"/.exec(chunk.toString('utf8', 0, Math.min(chunk.length, 4096)))
      if (model?.[1] !== undefined) marks.model(model[1])
    },
    onResponseStart(_status, headers) {
      const type = String(headers['content-type'] ?? '')
      if (type.includes('pcm')) byteRate = 24_000 * 2
    },
    onResponseData(chunk) {
      if (audioBytes === 0) {
        marks.firstPayload()
        if (byteRate === 0) byteRate = wavByteRate(chunk)
      }
      audioBytes += chunk.length
    },
    onResponseEnd() {
      marks.final()
      if (byteRate > 0) marks.audio(pcmMs(audioBytes, byteRate, 1))
    },
  }
}

function observe(request: RequestInfo, marks: HopMarks): HttpObserver | undefined {
  const path = request.path
  if (path.endsWith('/audio/speech')) return speech(marks)
  if (path.endsWith('/audio/transcriptions') || path.endsWith('/audio/translations')) return transcription(request, marks)
  if (path.endsWith('/chat/completions') || path.endsWith('/completions') || path.endsWith('/responses')) {
    let inner: HttpObserver | undefined
    return {
      onResponseStart(status, headers) {
        const streamed = String(headers['content-type'] ?? '').includes('text/event-stream')
        inner = streamed ? sseTokens(marks) : jsonAnswer(marks)
        inner.onResponseStart?.(status, headers)
      },
      onResponseData: (chunk) => inner?.onResponseData?.(chunk),
      onResponseEnd: () => inner?.onResponseEnd?.(),
    }
  }
  return undefined // other endpoints (models, embeddings, files): the generic observer
}

/** Which of OpenAI's APIs a path is: each is a different component's work behind one base URL. */
export function openaiComponent(request: RequestInfo): Component | undefined {
  const path = request.path
  if (path.endsWith('/chat/completions') || path.endsWith('/completions') || path.endsWith('/responses')) return 'llm'
  if (path.endsWith('/audio/speech')) return 'tts'
  if (path.endsWith('/audio/transcriptions') || path.endsWith('/audio/translations')) return 'stt'
  if (path.endsWith('/realtime')) return 's2s'
  return undefined
}

/**
 * OpenAI-compatible APIs behind one base URL: chat completions and Responses (SSE or JSON), transcriptions, speech,
 * each hop under its own component; a Realtime WebSocket is read as the openai-realtime adapter reads it.
 */
export const openaiAdapter: Adapter = {
  name: 'openai',
  http: observe,
  ws: (request, exchanges) => (request.path.endsWith('/realtime') ? openaiRealtimeAdapter.ws?.(request, exchanges) : undefined),
  auxiliary: auxiliaryUnlessPost,
  component: openaiComponent,
}
