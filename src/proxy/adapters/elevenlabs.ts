import { base64Bytes, pcmMs } from './audio.js'
import type { Adapter, HopMarks, HttpObserver, RequestInfo, WsExchanges, WsObserver } from './types.js'
import { auxiliaryUnlessPost } from './http.js'

/** `pcm_16000` and the like are raw 16-bit mono PCM at that rate; other formats (mp3, opus, ulaw) are not timed. */
function pcmRate(query: string): number {
  const format = new URLSearchParams(query).get('output_format') ?? ''
  const match = /^pcm_(\d+)$/.exec(format)
  return match?.[1] !== undefined ? Number(match[1]) : 0
}

function modelFromPath(request: RequestInfo, marks: HopMarks): void {
  const model = new URLSearchParams(request.query).get('model_id')
  if (model !== null) marks.model(model)
}

/** Streaming TTS over HTTP: the first audio byte is TTFB, the last is final. */
function stream(request: RequestInfo, marks: HopMarks): HttpObserver {
  const rate = pcmRate(request.query)
  let audioBytes = 0
  return {
    onRequestData(chunk) {
      if (audioBytes > 0) return
      const model = /"model_id"\s*:\s*"([^"]+)"/.exec(chunk.toString('utf8', 0, Math.min(chunk.length, 4096)))
      if (model?.[1] !== undefined) marks.model(model[1])
    },
    onResponseData(chunk) {
      marks.firstPayload()
      audioBytes += chunk.length
    },
    onResponseEnd() {
      marks.final()
      if (rate > 0) marks.audio(pcmMs(audioBytes, rate, 2))
    },
  }
}

/**
 * Input streaming over WebSocket (`/stream-input`): text chunks in, `{"audio": base64}` messages out, `{"isFinal":
 * true}` at the end of a generation. An exchange begins with the first text that is not only whitespace (the opening
 * " " message carries settings, not words), the caller's part ends with the empty-text message or a flush, and the
 * first audio is the payload. Audio messages are matched as text, never parsed: they are large.
 */
function inputStreaming(request: RequestInfo, ex: WsExchanges): WsObserver {
  const rate = pcmRate(request.query)
  return {
    onClientMessage(data) {
      const text = data.toString('utf8')
      const words = /"text"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(text)?.[1]
      if (words !== undefined && words.trim().length > 0) {
        if (!ex.open) {
          ex.begin()
          modelFromPath(request, ex)
        }
      } else if (words === '' && ex.open) {
        ex.requestEnd()
      }
      if (ex.open && /"flush"\s*:\s*true/.test(text)) ex.requestEnd()
    },
    onUpstreamMessage(data, isBinary) {
      if (isBinary || !ex.open) return
      const audioAt = data.indexOf('"audio":"')
      if (audioAt !== -1) {
        ex.firstPayload()
        ex.final()
        if (rate > 0) {
          const end = data.indexOf('"', audioAt + 9)
          if (end !== -1) ex.audio(pcmMs(base64Bytes(data, audioAt + 9, end), rate, 2))
        }
      }
      if (data.includes('"isFinal":true') || data.includes('"isFinal": true')) ex.end()
    },
  }
}

interface MultiMessage {
  text?: unknown
  context_id?: unknown
  flush?: unknown
  close_context?: unknown
  close_socket?: unknown
}

/** A caller's message is small JSON; one past this size is not read (its moments are simply not noted). */
const MAX_CONTROL_BYTES = 64 * 1024

/**
 * Multi-context input streaming (`/multi-stream-input`, LiveKit's ElevenLabs plugin): several contexts on one socket,
 * each its own exchange, keyed by `context_id`. A context's exchange begins with its first text that is not only
 * whitespace, the caller's part ends at its flush or `close_context` (`close_socket` ends every open one's), the
 * first audio message tagged with its `contextId` is the payload, and `{"isFinal": true, "contextId"}` ends it.
 */
function multiStreamInput(request: RequestInfo, ex: WsExchanges): WsObserver {
  const rate = pcmRate(request.query)
  const open = new Set<string>()
  return {
    onClientMessage(data, isBinary) {
      if (isBinary || data.length > MAX_CONTROL_BYTES) return
      let msg: MultiMessage
      try {
        msg = JSON.parse(data.toString('utf8')) as MultiMessage
      } catch {
        return
      }
      if (msg === null || typeof msg !== 'object') return
      if (msg.close_socket === true) {
        for (const key of open) ex.context(key).requestEnd()
        return
      }
      const key = typeof msg.context_id === 'string' ? msg.context_id : ''
      const context = ex.context(key)
      if (typeof msg.text === 'string' && msg.text.trim().length > 0 && !context.open) {
        context.begin()
        if (context.open) {
          open.add(key)
          modelFromPath(request, context)
        }
      }
      if (context.open && (msg.flush === true || msg.close_context === true)) context.requestEnd()
    },
    onUpstreamMessage(data, isBinary) {
      if (isBinary) return
      // audio messages are large: the context id is read from the end, where it follows the audio
      const at = data.lastIndexOf('"contextId":"')
      if (at === -1) return
      const end = data.indexOf('"', at + 13)
      const key = end === -1 ? '' : data.toString('utf8', at + 13, end)
      if (!open.has(key)) return
      const context = ex.context(key)
      const audioAt = data.indexOf('"audio":"')
      if (audioAt !== -1) {
        context.firstPayload()
        context.final()
        const audioEnd = data.indexOf('"', audioAt + 9)
        if (rate > 0 && audioEnd !== -1) context.audio(pcmMs(base64Bytes(data, audioAt + 9, audioEnd), rate, 2))
      }
      if (data.includes('"isFinal":true') || data.includes('"isFinal": true')) {
        context.end()
        open.delete(key)
      }
    },
  }
}

/** Input streaming, one context or many, by route. */
function inputStreams(request: RequestInfo, ex: WsExchanges): WsObserver {
  return request.path.endsWith('/multi-stream-input') ? multiStreamInput(request, ex) : inputStreaming(request, ex)
}

/** ElevenLabs-style TTS: HTTP streaming and WebSocket input streaming (one context or many). */
export const elevenlabsAdapter: Adapter = {
  name: 'elevenlabs',
  http: stream,
  ws: inputStreams,
  auxiliary: auxiliaryUnlessPost,
}
