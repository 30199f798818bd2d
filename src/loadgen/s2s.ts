import { WebSocket } from 'ws'
import { nowUs } from '../clock.js'
import { failureOf, TurnFailure } from './failure.js'
import { correlationHeaders, pause, type ConversationIo, type Speaker, type TurnIo } from './turn.js'
import { streamFrames, utterance } from './voice.js'

/** Realtime audio is 24 kHz 16-bit mono PCM. */
const RATE = 24_000

interface ServerEvent {
  type?: string
  delta?: string
  transcript?: string
  response?: { status?: string; status_details?: { error?: { code?: string } } }
  error?: { code?: string; message?: string }
}

/**
 * A speech-to-speech agent's traffic for one conversation: one OpenAI-Realtime WebSocket for the whole call. Each
 * turn appends the caller's audio in real-time frames, commits it, asks for a response, and listens to the audio
 * deltas; an interruption cancels the response.
 */
export function s2sSpeaker(io: ConversationIo): Speaker {
  let socket: Promise<WebSocket> | undefined
  let listener: ((event: ServerEvent) => void) | undefined
  let closedWith: TurnFailure | undefined

  function connect(headers: Record<string, string>): Promise<WebSocket> {
    const s2s = io.targets.s2s
    if (s2s === undefined) return Promise.reject(new TurnFailure('s2s', 'protocol', 'no S2S upstream'))
    const auth: Record<string, string> = io.credentials.openai !== undefined ? { authorization: `Bearer ${io.credentials.openai}` } : {}
    const ws = new WebSocket(`${s2s.url.replace(/^http/, 'ws')}/realtime?model=${encodeURIComponent(io.models.s2s)}`, { headers: { ...headers, ...auth }, perMessageDeflate: false })
    ws.on('message', (data: Buffer) => listener?.(JSON.parse(data.toString('utf8')) as ServerEvent))
    ws.on('close', (code) => {
      closedWith = code === 1006 ? new TurnFailure('s2s', 'reset', 'the session was cut') : new TurnFailure('s2s', 'status', `the session closed (${code})`)
      listener?.({ type: 'hopwatch.closed' })
    })
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        // the caller commits its own turns: no server VAD
        ws.send(JSON.stringify({ type: 'session.update', session: { turn_detection: null } }))
        resolve(ws)
      })
      ws.once('unexpected-response', (_req, res) => reject(failureOf('s2s', undefined, res.statusCode ?? 500)))
      ws.once('error', (err) => reject(failureOf('s2s', err)))
    })
  }

  return {
    async turn(say, t: TurnIo) {
      // the session's exchanges are numbered from the turn that opened it, one per turn
      socket ??= connect(correlationHeaders(io, t.turn))
      const ws = await socket
      if (closedWith !== undefined) throw closedWith
      const audio = await utterance(say.say, io.wordsPerS, RATE, say.audio)
      t.progress.hopCount++
      let audioBytes = 0
      let transcript = ''
      const done = new Promise<void>((resolve, reject) => {
        listener = (event) => {
          if (event.type === 'response.audio.delta' && typeof event.delta === 'string') {
            if (t.progress.firstAudioUs === 0) t.progress.firstAudioUs = nowUs()
            audioBytes += Math.floor((event.delta.length * 3) / 4)
          } else if (event.type === 'response.audio_transcript.done') transcript = event.transcript ?? ''
          else if (event.type === 'response.done') {
            if (event.response?.status === 'failed') reject(new TurnFailure('s2s', event.response.status_details?.error?.code === 'server_overloaded' ? 'rate_limited' : 'status', 'the response failed'))
            else resolve()
          } else if (event.type === 'error') reject(new TurnFailure('s2s', 'protocol', event.error?.message ?? 'error event'))
          else if (event.type === 'hopwatch.closed') reject(closedWith)
        }
      })
      done.catch(() => {})
      const cancel = () => ws.readyState === ws.OPEN && ws.send(JSON.stringify({ type: 'response.cancel' }))
      t.signal.addEventListener('abort', cancel, { once: true })
      try {
        t.progress.userStartUs = nowUs()
        const spoken = await streamFrames(audio.pcm, RATE, io.timeScale, (frame) => ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: frame.toString('base64') })), t.signal)
        if (!spoken) return
        t.progress.userEndUs = nowUs()
        t.onUserEnd()
        ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }))
        ws.send(JSON.stringify({ type: 'response.create', response: { metadata: { sim_reply: say.reply } } }))
        await Promise.race([done, new Promise((r) => t.signal.addEventListener('abort', r, { once: true }))])
        if (t.signal.aborted) return
        t.progress.answer = transcript
        t.progress.audioMs = audioBytes / 48
        if (t.progress.firstAudioUs > 0) await pause((t.progress.firstAudioUs + (t.progress.audioMs * 1000) / io.timeScale - nowUs()) / 1000, t.signal)
        t.progress.endUs = nowUs()
      } finally {
        t.signal.removeEventListener('abort', cancel)
      }
    },
    close() {
      void socket?.then((ws) => ws.close(1000), () => {})
    },
  }
}
