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
          if (end !== -1) ex.audio(pcmMs(base64Bytes(end - audioAt - 9), rate, 2))
        }
      }
      if (data.includes('"isFinal":true') || data.includes('"isFinal": true')) ex.end()
    },
  }
}

/** ElevenLabs-style TTS: HTTP streaming and WebSocket input streaming. */
export const elevenlabsAdapter: Adapter = {
  name: 'elevenlabs',
  http: stream,
  ws: inputStreaming,
  auxiliary: auxiliaryUnlessPost,
}
