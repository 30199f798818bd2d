import { createHash, randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'
import { SpeechDetector } from '../audio.js'
import { refuseUpgrade, resetConnection, wait } from '../http.js'
import type { ServiceContext } from '../service.js'
import { headerText } from '../text.js'
import { bytesPerSecond, deepgramError, MODEL_UUID, modelInfo } from './deepgram-shape.js'
import { round, transcribe, wordTimings } from './transcript.js'

/** Deepgram's close reason when a live stream goes quiet. */
const IDLE_REASON = 'Deepgram did not receive audio data or a text message within the timeout window. See https://dpgr.am/net0001'

interface StreamOptions {
  model: string
  encoding: string
  sampleRate: number
  bytesPerS: number
  interim: boolean
  /** ms of silence that ends an utterance, or undefined when endpointing is off (or the encoding is not PCM) */
  endpointingMs: number | undefined
  /** 16-bit mono PCM, where the simulator can tell speech from silence */
  pcm: boolean
}

/** Reads the live-streaming query as Deepgram does; a problem is a handshake refusal with Deepgram's error. */
function streamOptions(url: URL): StreamOptions | string {
  const q = url.searchParams
  const encoding = q.get('encoding') ?? 'linear16'
  const sampleRate = Number(q.get('sample_rate') ?? 16000)
  const channels = Number(q.get('channels') ?? 1)
  if (!Number.isInteger(sampleRate) || sampleRate < 8000 || sampleRate > 96000) return `Invalid sample_rate: ${q.get('sample_rate') ?? ''}`
  if (!Number.isInteger(channels) || channels < 1 || channels > 8) return `Invalid channels: ${q.get('channels') ?? ''}`
  const bytesPerS = bytesPerSecond(encoding, sampleRate, channels)
  if (bytesPerS === undefined) return `Unsupported encoding for the simulator: ${encoding}. Use linear16, linear32, mulaw or alaw.`
  const endpointing = q.get('endpointing')
  let endpointingMs: number | undefined = 10 // Deepgram's default
  if (endpointing === 'false') endpointingMs = undefined
  else if (endpointing !== null) {
    endpointingMs = Number(endpointing)
    if (!Number.isInteger(endpointingMs) || endpointingMs < 0) return `Invalid endpointing: ${endpointing}`
  }
  const pcm = encoding === 'linear16' && channels === 1
  if (!pcm) endpointingMs = undefined
  return { model: q.get('model') ?? 'nova-3', encoding, sampleRate, bytesPerS, interim: q.get('interim_results') === 'true', endpointingMs, pcm }
}

/**
 * Deepgram-style live STT: binary audio in; interim `Results` while speech goes on (when asked), a final `Results`
 * at each endpoint (silence after speech), on `Finalize` (`from_finalize: true`) and on `CloseStream` (then
 * `Metadata` and close 1000). A result's `start`/`duration` cover the audio since the previous final; its words
 * lie on the speech in it (16-bit mono PCM: loud frames), and audio without speech gives an empty transcript. Each
 * final is a job for a worker, so final-transcript latency grows with load.
 * The expected text comes from the `x-sim-text` header, or per utterance from a `{"type": "SimExpect", "text"}`
 * message (a simulator extension a real Deepgram would not know).
 */
export function deepgramLive(ctx: ServiceContext) {
  return async (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> => {
    if (url.pathname !== '/v1/listen') {
      refuseUpgrade(socket, 404, deepgramError(404, `no WebSocket route ${url.pathname}; live streaming is /v1/listen`))
      return
    }
    const options = streamOptions(url)
    if (typeof options === 'string') {
      ctx.metrics.count('bad_request')
      refuseUpgrade(socket, 400, deepgramError(400, options), { 'dg-error': options })
      return
    }
    const accepted = await ctx.accept(req, socket, head, deepgramError)
    if (accepted === undefined) return
    new LiveStream(ctx, accepted.ws, options, headerText(req.headers['x-sim-text']), accepted.drop)
  }
}

class LiveStream {
  private readonly requestId = randomUUID()
  private readonly sha = createHash('sha256')
  private readonly detector: SpeechDetector | undefined
  /** total audio received, and where the current utterance began and the last interim was sent (ms) */
  private audioMs = 0
  private utteranceStartMs = 0
  private lastInterimMs = 0
  private hasUtteranceAudio = false
  /** the speech heard in the current utterance (ms into the audio), if any */
  private speech: { fromMs: number; toMs: number } | undefined
  private readonly expected: string[] = []
  /** finals are sent in order even when their jobs overlap */
  private chain: Promise<void> = Promise.resolve()
  private idle: NodeJS.Timeout | undefined
  private closed = false
  private interimText = ''

  constructor(
    private readonly ctx: ServiceContext,
    private readonly ws: WebSocket,
    private readonly options: StreamOptions,
    private readonly connectionText: string | undefined,
    private drop: boolean,
  ) {
    this.detector = options.pcm ? new SpeechDetector(options.sampleRate, options.endpointingMs !== undefined ? Math.max(options.endpointingMs, 20) : Infinity) : undefined
    ws.on('message', (data: Buffer, isBinary) => (isBinary ? this.audio(data) : this.control(data)))
    ws.on('close', () => this.stop())
    ws.on('error', () => this.stop())
    this.touch()
  }

  private touch(): void {
    clearTimeout(this.idle)
    this.idle = setTimeout(() => {
      this.ctx.metrics.count('timeout')
      this.ws.close(1011, IDLE_REASON.slice(0, 120))
    }, this.ctx.config.idle_timeout_ms)
  }

  private stop(): void {
    this.closed = true
    clearTimeout(this.idle)
  }

  private audio(data: Buffer): void {
    this.touch()
    this.sha.update(data)
    const ms = (data.length / this.options.bytesPerS) * 1000
    if (!this.hasUtteranceAudio) {
      this.utteranceStartMs = this.audioMs
      this.lastInterimMs = this.audioMs
    }
    this.hasUtteranceAudio = true
    this.audioMs += ms
    const event = this.detector?.push(data)
    if (this.detector === undefined) this.speech = { fromMs: this.speech?.fromMs ?? this.utteranceStartMs, toMs: this.audioMs }
    else if (this.detector.speech.toMs > this.utteranceStartMs) this.speech = { fromMs: this.speech?.fromMs ?? Math.max(this.detector.speech.fromMs, this.utteranceStartMs), toMs: this.detector.speech.toMs }
    if (event === 'endpoint') {
      this.finalize('endpoint')
      return
    }
    if (this.options.interim && this.audioMs - this.lastInterimMs >= this.ctx.config.interim_ms) {
      this.lastInterimMs = this.audioMs
      this.sendInterim()
    }
  }

  private control(data: Buffer): void {
    this.touch()
    let message: { type?: unknown; text?: unknown }
    try {
      message = JSON.parse(data.toString('utf8')) as typeof message
    } catch {
      // Deepgram ignores what it cannot parse on a live stream rather than closing it; so does the simulator
      return
    }
    if (message.type === 'Finalize') this.finalize('finalize')
    else if (message.type === 'CloseStream') this.closeStream()
    else if (message.type === 'SimExpect' && typeof message.text === 'string') this.expected.push(message.text)
    // KeepAlive and anything else only keep the stream open
  }

  private nextText(): string | undefined {
    return this.expected[0] ?? this.connectionText
  }

  private sendInterim(): void {
    if (this.speech === undefined) return
    const utteranceMs = this.audioMs - this.speech.fromMs
    const full = this.nextText()
    if (full !== undefined) {
      const words = full.split(/\s+/)
      // reveal the words spoken so far, at a conversational 2.5 words per second
      this.interimText = words.slice(0, Math.min(words.length, Math.ceil((utteranceMs / 1000) * 2.5))).join(' ')
    } else {
      this.interimText = transcribe(this.ctx, undefined, utteranceMs, 0)
    }
    this.send(this.results(this.interimText, this.utteranceStartMs, utteranceMs, { is_final: false, speech_final: false }))
  }

  private finalize(reason: 'endpoint' | 'finalize' | 'close'): Promise<void> {
    if (!this.hasUtteranceAudio) return this.chain
    const startMs = this.utteranceStartMs
    const durationMs = this.audioMs - startMs
    const speech = this.speech
    // silence is no utterance: it spends no expected text
    const text = speech === undefined ? undefined : (this.expected.shift() ?? this.connectionText)
    this.hasUtteranceAudio = false
    this.speech = undefined
    const job = this.ctx.pool.acquire()
    this.chain = this.chain.then(async () => {
      const admission = await job
      if (!admission.admitted) {
        this.ctx.metrics.count('rejected')
        // 1013 "try again later": the stream is refused work, as an overloaded server sheds load
        if (!this.closed) this.ws.close(1013, 'server overloaded: too many streams waiting for a worker')
        return
      }
      try {
        const load = this.ctx.pool.load()
        await wait(this.ctx.serviceMs(this.ctx.config.latency))
        if (this.closed) return void this.ctx.metrics.count('aborted')
        if (this.drop) {
          this.drop = false
          this.ctx.metrics.count('dropped')
          resetConnection((this.ws as unknown as { _socket?: Duplex })._socket)
          return
        }
        const transcript = speech === undefined ? '' : transcribe(this.ctx, text, speech.toMs - speech.fromMs, load)
        this.ctx.metrics.count('ok')
        this.send(this.results(transcript, startMs, durationMs, { is_final: true, speech_final: reason === 'endpoint', ...(reason === 'finalize' ? { from_finalize: true } : {}) }, speech))
      } finally {
        admission.release()
      }
    })
    return this.chain
  }

  private closeStream(): void {
    void this.finalize('close').then(() => {
      if (this.closed) return
      this.send({
        type: 'Metadata',
        transaction_key: 'deprecated',
        request_id: this.requestId,
        sha256: this.sha.digest('hex'),
        created: new Date().toISOString(),
        duration: round(this.audioMs / 1000),
        channels: 1,
        models: [MODEL_UUID],
        model_info: { [MODEL_UUID]: modelInfo(this.options.model) },
      })
      this.ws.close(1000)
    })
  }

  private results(transcript: string, startMs: number, durationMs: number, flags: Record<string, boolean>, speech = this.speech): object {
    const words = speech === undefined ? [] : wordTimings(transcript, speech.fromMs / 1000, (speech.toMs - speech.fromMs) / 1000)
    return {
      type: 'Results',
      channel_index: [0, 1],
      duration: round(durationMs / 1000),
      start: round(startMs / 1000),
      ...flags,
      channel: { alternatives: [{ transcript, confidence: transcript === '' ? 0 : 0.97, words }] },
      metadata: { request_id: this.requestId, model_info: modelInfo(this.options.model), model_uuid: MODEL_UUID },
    }
  }

  private send(message: object): void {
    if (!this.closed && this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message))
  }
}
