import { nowUs } from '../../clock.js'
import { pcmMs } from './audio.js'
import { AudioTimeline } from './audio-timeline.js'
import type { Adapter, HopMarks, HttpObserver, RequestInfo, WsExchanges, WsObserver } from './types.js'
import { auxiliaryUnlessPost, jsonBodyObserver } from './http.js'

const BYTES_PER_SAMPLE: Record<string, number> = { linear16: 2, linear32: 4, mulaw: 1, alaw: 1 }

interface Results {
  type?: string
  is_final?: boolean
  speech_final?: boolean
  from_finalize?: boolean
  /** the audio the result covers, seconds from the stream's start */
  start?: number
  duration?: number
  channel?: { alternatives?: Array<{ transcript?: string; words?: Array<{ start?: number; end?: number }> }> }
}

/** The control messages a Deepgram live client sends as text frames. */
function controlType(data: Buffer): string {
  if (data.length > 256) return ''
  return /"type"\s*:\s*"([A-Za-z]+)"/.exec(data.toString('utf8'))?.[1] ?? ''
}

const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n)

/** Where the speech in a result lies, ms into the stream: its words, or else the audio the result covers. */
function speechIn(message: Results): { fromMs: number; toMs: number } | undefined {
  const words = message.channel?.alternatives?.[0]?.words
  const first = words?.[0]
  const last = words?.[words.length - 1]
  if (finite(first?.start) && finite(last?.end)) return { fromMs: first.start * 1000, toMs: last.end * 1000 }
  if (finite(message.start) && finite(message.duration)) return { fromMs: message.start * 1000, toMs: (message.start + message.duration) * 1000 }
  return undefined
}

/**
 * Deepgram-style live STT: binary audio frames in, `Results` JSON out. One exchange per utterance, defined by speech
 * (docs/analysis.md, "Live STT"):
 * - it opens with audio and, once a transcript shows speech, its start moves to where the speech began;
 * - the user's part ends where the speech ended: the final's last word (or the end of the audio it covers), mapped
 *   back to the moment that audio passed the proxy; when the caller asks with Finalize/CloseStream, at that message
 *   (the caller did the endpointing);
 * - the first non-empty transcript is the first payload; the final transcript (speech_final, from_finalize, or any
 *   is_final once the caller asked) is final and ends the exchange;
 * - an exchange that ends without speech (silence a live microphone streams between utterances and before it
 *   closes) is no hop, unless the caller asked for its transcript with Finalize.
 * Clients that stream continuously (LiveKit's plugin, any live microphone) and clients that stop and Finalize are
 * timed alike. Encodings whose duration the proxy cannot count (opus, …) fall back to the last frame.
 */
function live(request: RequestInfo, ex: WsExchanges): WsObserver {
  const params = new URLSearchParams(request.query)
  const model = params.get('model')
  const sampleRate = Number(params.get('sample_rate') ?? 0)
  const bytesPerSample = BYTES_PER_SAMPLE[params.get('encoding') ?? ''] ?? 0
  const channels = Number(params.get('channels') ?? 1)
  const timeline = pcmMs(1, sampleRate, bytesPerSample, channels) > 0 ? new AudioTimeline() : undefined
  /** the control message the caller asked for the final with, if it did */
  let finalizing: '' | 'Finalize' | 'CloseStream' = ''
  let sawFinal = false
  let heardSpeech = false

  /** An exchange is recorded when it held speech, or when the caller asked for its transcript (Finalize). */
  const close = () => {
    if (heardSpeech || finalizing === 'Finalize') ex.end()
    else ex.discard()
    finalizing = ''
    sawFinal = false
    heardSpeech = false
  }

  return {
    onClientMessage(data, isBinary) {
      if (isBinary) {
        const ms = pcmMs(data.length, sampleRate, bytesPerSample, channels)
        timeline?.push(ms, nowUs())
        if (!ex.open) {
          ex.begin()
          if (model !== null) ex.model(model)
        }
        if (finalizing === '') ex.requestEnd()
        ex.audio(ms)
        return
      }
      const type = controlType(data)
      if ((type === 'Finalize' || type === 'CloseStream') && ex.open && finalizing === '') {
        finalizing = type
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
      const spoken = transcript.trim().length > 0
      const speech = spoken ? speechIn(message) : undefined
      if (spoken) {
        if (!heardSpeech && speech !== undefined && timeline !== undefined) {
          const began = timeline.momentOf(speech.fromMs, 'start')
          if (began !== undefined) ex.startAt(began)
        }
        heardSpeech = true
        ex.firstPayload()
      }
      if (message.is_final === true) {
        if (speech !== undefined && finalizing === '' && timeline !== undefined) {
          const ended = timeline.momentOf(speech.toMs, 'end')
          if (ended !== undefined) ex.requestEnd(ended)
        }
        sawFinal = true
        if (heardSpeech || finalizing !== '') ex.final()
        if (message.speech_final === true || message.from_finalize === true || finalizing !== '') close()
      }
    },
    onClose(clean) {
      // the silence after the last utterance, cut by a clean close, is no exchange; a failure keeps it, as evidence
      if (clean && ex.open && !heardSpeech && finalizing !== 'Finalize') ex.discard()
    },
  }
}

/**
 * Deepgram over HTTP: the model from the query; a pre-recorded transcription (`POST /v1/listen`) is a JSON answer whose
 * `metadata.duration` is the audio's length. Other routes (`/v1/speak`) are timed by the generic observer.
 */
function http(request: RequestInfo, marks: HopMarks): HttpObserver | undefined {
  const model = new URLSearchParams(request.query).get('model')
  if (model !== null) marks.model(model)
  if (!request.path.endsWith('/listen')) return undefined
  return jsonBodyObserver(marks, (body) => {
    const duration = (body as { metadata?: { duration?: unknown } } | null)?.metadata?.duration
    if (finite(duration)) marks.audio(duration * 1000)
  })
}

/** Deepgram: live STT over WebSocket, pre-recorded STT and TTS over HTTP. */
export const deepgramAdapter: Adapter = {
  name: 'deepgram',
  http,
  ws: live,
  auxiliary: auxiliaryUnlessPost,
}
