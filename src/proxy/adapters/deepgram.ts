import { pcmMs } from './audio.js'
import type { Adapter, RequestInfo, WsExchanges, WsObserver } from './types.js'

const BYTES_PER_SAMPLE: Record<string, number> = { linear16: 2, linear32: 4, mulaw: 1, alaw: 1 }

interface Results {
  type?: string
  is_final?: boolean
  speech_final?: boolean
  from_finalize?: boolean
  channel?: { alternatives?: Array<{ transcript?: string }> }
}

/** The control messages a Deepgram live client sends as text frames. */
function controlType(data: Buffer): string {
  if (data.length > 256) return ''
  return /"type"\s*:\s*"([A-Za-z]+)"/.exec(data.toString('utf8'))?.[1] ?? ''
}

/**
 * Deepgram-style live STT: binary audio frames in, `Results` JSON out. One exchange per utterance: it begins with the
 * first audio frame, the user's audio ends at the last frame (or at Finalize/CloseStream when the caller sends one),
 * the first non-empty transcript is the first payload, and the final transcript (speech_final, from_finalize, or any
 * is_final once the caller asked to finalize) is final and ends the exchange.
 */
function live(request: RequestInfo, ex: WsExchanges): WsObserver {
  const params = new URLSearchParams(request.query)
  const model = params.get('model')
  const sampleRate = Number(params.get('sample_rate') ?? 0)
  const bytesPerSample = BYTES_PER_SAMPLE[params.get('encoding') ?? ''] ?? 0
  const channels = Number(params.get('channels') ?? 1)
  let finalizing = false
  let sawFinal = false

  const close = () => {
    ex.end()
    finalizing = false
    sawFinal = false
  }

  return {
    onClientMessage(data, isBinary) {
      if (isBinary) {
        if (!ex.open) {
          ex.begin()
          if (model !== null) ex.model(model)
        }
        if (!finalizing) ex.requestEnd()
        ex.audio(pcmMs(data.length, sampleRate, bytesPerSample, channels))
        return
      }
      const type = controlType(data)
      if ((type === 'Finalize' || type === 'CloseStream') && ex.open && !finalizing) {
        finalizing = true
        ex.requestEnd()
      }
    },
    onUpstreamMessage(data, isBinary) {
      if (isBinary || !ex.open) return
      let message: Results
      try {
        message = JSON.parse(data.toString('utf8')) as Results
      } catch {
        return
      }
      if (message.type === 'UtteranceEnd' || message.type === 'Metadata') {
        if (sawFinal || message.type === 'Metadata') close()
        return
      }
      if (message.type !== 'Results') return
      const transcript = message.channel?.alternatives?.[0]?.transcript ?? ''
      if (transcript.length > 0) ex.firstPayload()
      if (message.is_final === true) {
        sawFinal = true
        ex.final()
        if (message.speech_final === true || message.from_finalize === true || finalizing) close()
      }
    },
  }
}

/** Deepgram: live STT over WebSocket; pre-recorded `POST /v1/listen` is timed as a plain request (the generic observer). */
export const deepgramAdapter: Adapter = {
  name: 'deepgram',
  ws: live,
}
