import { base64Bytes, pcmMs } from './audio.js'
import type { Adapter, RequestInfo, WsExchanges, WsObserver } from './types.js'

/** Realtime audio is 24 kHz 16-bit mono PCM unless the session says otherwise (g711 is 8 kHz, 1 byte a sample). */
const PCM16_BYTES_PER_SECOND = 24_000 * 2

/** Event types sit near the start of every message; reading only the head keeps large audio messages cheap. */
function eventType(data: Buffer): string {
  const head = data.toString('utf8', 0, Math.min(data.length, 160))
  return /"type"\s*:\s*"([a-z_.]+)"/.exec(head)?.[1] ?? ''
}

/**
 * OpenAI-Realtime-style speech-to-speech: one exchange per response. It begins with the first audio append (or a
 * `response.create` with no audio), the user's audio ends at `input_audio_buffer.commit` or, with server VAD, when the
 * server reports `input_audio_buffer.speech_stopped`; the first `response.audio.delta` (`response.output_audio.delta`
 * in the GA API) is the payload, and `response.done` ends it with its usage.
 */
function realtime(request: RequestInfo, ex: WsExchanges): WsObserver {
  const model = new URLSearchParams(request.query).get('model')
  let committed = false
  const begin = () => {
    if (ex.open) return
    ex.begin()
    committed = false
    if (model !== null) ex.model(model)
  }
  const commit = () => {
    if (!ex.open || committed) return
    committed = true
    ex.requestEnd()
  }
  return {
    onClientMessage(data, isBinary) {
      if (isBinary) return
      const type = eventType(data)
      if (type === 'input_audio_buffer.append') {
        begin()
        const key = data.indexOf('"audio"')
        const open = key === -1 ? -1 : data.indexOf('"', data.indexOf(':', key + 7) + 1)
        const close = open === -1 ? -1 : data.indexOf('"', open + 1)
        if (close !== -1) ex.audio(pcmMs(base64Bytes(data, open + 1, close), PCM16_BYTES_PER_SECOND, 1))
      } else if (type === 'input_audio_buffer.commit') {
        commit()
      } else if (type === 'response.create') {
        begin()
        commit()
      }
    },
    onUpstreamMessage(data, isBinary) {
      if (isBinary || !ex.open) return
      const type = eventType(data)
      switch (type) {
        case 'input_audio_buffer.speech_stopped':
        case 'input_audio_buffer.committed':
          commit()
          break
        case 'response.audio.delta':
        case 'response.output_audio.delta':
          ex.firstPayload()
          ex.final()
          break
        case 'response.done': {
          try {
            const done = JSON.parse(data.toString('utf8')) as { response?: { usage?: { input_tokens?: number; output_tokens?: number } } }
            const usage = done.response?.usage
            if (usage !== undefined) ex.usage(usage.input_tokens ?? 0, usage.output_tokens ?? 0)
          } catch {
            // usage is a nicety; the moments are already recorded
          }
          ex.end()
          break
        }
      }
    },
  }
}

/** OpenAI-Realtime-style speech-to-speech over WebSocket. */
export const openaiRealtimeAdapter: Adapter = {
  name: 'openai-realtime',
  ws: realtime,
}
