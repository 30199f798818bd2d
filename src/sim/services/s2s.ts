import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'
import { SpeechDetector } from '../audio.js'
import { openaiEncoder, speechMs } from '../audio-format.js'
import { refuseUpgrade, resetConnection, sendJson } from '../http.js'
import type { KindFactory, ServiceContext } from '../service.js'
import { synthesize } from '../synthesis.js'
import { headerText, sentence, tokenCount } from '../text.js'
import { openaiError, openaiNoRoute } from './openai-errors.js'

/** Realtime audio: 24 kHz 16-bit mono PCM. */
const RATE = 24_000
const BYTES_PER_MS = (RATE * 2) / 1000

const CLIENT_EVENTS = ['session.update', 'input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear', 'conversation.item.create', 'response.create', 'response.cancel']

interface TurnDetection {
  type: 'server_vad'
  silence_duration_ms: number
  create_response: boolean
}

const id = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`

/**
 * OpenAI-Realtime-style speech-to-speech over WebSocket (`/v1/realtime`): `session.created`, audio appends, commit
 * (or server VAD ending the user's turn), `response.create`, then `response.audio.delta` messages paced at the
 * real-time factor and `response.done` with usage. One response at a time per session, each a job for a worker.
 */
class RealtimeSession {
  private readonly sessionId = id('sess')
  private turnDetection: TurnDetection | null = { type: 'server_vad', silence_duration_ms: 500, create_response: true }
  private detector: SpeechDetector
  private bufferMs = 0
  private audioEndMs = 0
  private lastItem: string | null = null
  private active: AbortController | undefined
  private closed = false
  private eventCount = 0

  constructor(
    private readonly ctx: ServiceContext,
    private readonly ws: WebSocket,
    private readonly model: string,
    private readonly connectionReply: string | undefined,
    private drop: boolean,
  ) {
    this.detector = new SpeechDetector(RATE, this.turnDetection?.silence_duration_ms ?? 500)
    ws.on('message', (data: Buffer, isBinary) => this.receive(data, isBinary))
    ws.on('close', () => this.stop())
    ws.on('error', () => this.stop())
    this.send({ type: 'session.created', session: this.session() })
  }

  private stop(): void {
    this.closed = true
    this.active?.abort()
  }

  private session(): object {
    return { id: this.sessionId, object: 'realtime.session', model: this.model, modalities: ['audio', 'text'], voice: 'alloy', input_audio_format: 'pcm16', output_audio_format: 'pcm16', turn_detection: this.turnDetection }
  }

  private send(event: Record<string, unknown>): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return
    this.ws.send(JSON.stringify({ event_id: `event_${++this.eventCount}`, ...event }))
  }

  private error(message: string, code: string, clientEventId: unknown, param: string | null = null): void {
    this.send({ type: 'error', error: { type: 'invalid_request_error', code, message, param, event_id: typeof clientEventId === 'string' ? clientEventId : null } })
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (isBinary) return this.error('Binary messages are not supported; send JSON events.', 'invalid_message', null)
    let event: Record<string, unknown>
    try {
      event = JSON.parse(data.toString('utf8')) as Record<string, unknown>
    } catch {
      return this.error("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)", 'invalid_json', null)
    }
    if (event === null || typeof event !== 'object' || typeof event.type !== 'string') return this.error("Missing required parameter: 'type'.", 'missing_required_parameter', null, 'type')
    const eventId = event.event_id
    switch (event.type) {
      case 'session.update':
        return this.updateSession(event.session as Record<string, unknown> | undefined)
      case 'input_audio_buffer.append': {
        if (typeof event.audio !== 'string') return this.error("Missing required parameter: 'audio'.", 'missing_required_parameter', eventId, 'audio')
        return this.append(Buffer.from(event.audio, 'base64'))
      }
      case 'input_audio_buffer.commit':
        if (this.bufferMs < 100) return this.error(`Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${this.bufferMs.toFixed(2)}ms of audio.`, 'input_audio_buffer_commit_empty', eventId)
        return this.commit()
      case 'input_audio_buffer.clear':
        this.bufferMs = 0
        return this.send({ type: 'input_audio_buffer.cleared' })
      case 'conversation.item.create': {
        const itemId = id('item')
        this.send({ type: 'conversation.item.created', previous_item_id: this.lastItem, item: { id: itemId, object: 'realtime.item', ...((event.item as object | undefined) ?? {}) } })
        this.lastItem = itemId
        return
      }
      case 'response.create': {
        if (this.active !== undefined) return this.error('Conversation already has an active response', 'conversation_already_has_active_response', eventId)
        const metadata = (event.response as { metadata?: { sim_reply?: unknown } } | undefined)?.metadata
        return void this.respond(typeof metadata?.sim_reply === 'string' ? metadata.sim_reply : undefined)
      }
      case 'response.cancel':
        if (this.active === undefined) return this.error('Cancellation failed: no active response found', 'response_cancel_not_active', eventId)
        this.active.abort()
        return
      default:
        return this.error(`Invalid value: '${event.type}'. Supported values are: ${CLIENT_EVENTS.map((t) => `'${t}'`).join(', ')}.`, 'invalid_value', eventId, 'type')
    }
  }

  private updateSession(update: Record<string, unknown> | undefined): void {
    if (update !== undefined && 'turn_detection' in update) {
      const td = update.turn_detection as Partial<TurnDetection> | null
      this.turnDetection = td === null ? null : { type: 'server_vad', silence_duration_ms: td.silence_duration_ms ?? 500, create_response: td.create_response ?? true }
      this.detector = new SpeechDetector(RATE, this.turnDetection?.silence_duration_ms ?? 500)
    }
    this.send({ type: 'session.updated', session: this.session() })
  }

  private append(audio: Buffer): void {
    const ms = audio.length / BYTES_PER_MS
    this.bufferMs += ms
    this.audioEndMs += ms
    if (this.turnDetection === null) return
    const event = this.detector.push(audio)
    if (event === 'speech_started') {
      // a caller talking over the answer interrupts it, as server VAD does
      this.active?.abort()
      this.send({ type: 'input_audio_buffer.speech_started', audio_start_ms: Math.round(this.audioEndMs - ms), item_id: id('item') })
    } else if (event === 'endpoint') {
      this.send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: Math.round(this.audioEndMs), item_id: id('item') })
      this.commit()
      if (this.turnDetection.create_response && this.active === undefined) void this.respond(undefined)
    }
  }

  private commit(): void {
    const itemId = id('item')
    this.send({ type: 'input_audio_buffer.committed', previous_item_id: this.lastItem, item_id: itemId })
    this.send({ type: 'conversation.item.created', previous_item_id: this.lastItem, item: { id: itemId, object: 'realtime.item', type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_audio', transcript: null }] } })
    this.lastItem = itemId
    this.bufferMs = 0
  }

  private async respond(reply: string | undefined): Promise<void> {
    const abort = new AbortController()
    this.active = abort
    const responseId = id('resp')
    const itemId = id('item')
    const response = (status: string, extra: object = {}) => ({ id: responseId, object: 'realtime.response', status, output: [], ...extra })
    this.send({ type: 'response.created', response: response('in_progress') })
    const admission = await this.ctx.pool.acquire(abort.signal)
    if (!admission.admitted) {
      this.active = undefined
      this.ctx.metrics.count(admission.reason === 'aborted' ? 'aborted' : 'rejected')
      const status = admission.reason === 'aborted' ? 'cancelled' : 'failed'
      this.send({ type: 'response.done', response: response(status, { status_details: admission.reason === 'queue_full' ? { type: 'failed', error: { type: 'server_error', code: 'server_overloaded', message: 'The server is overloaded; try again later.' } } : { type: 'cancelled', reason: 'client_cancelled' } }) })
      return
    }
    try {
      const text = reply ?? this.connectionReply ?? sentence(this.ctx.rng, this.ctx.rng.int(this.ctx.config.reply_words.min, this.ctx.config.reply_words.max))
      const totalMs = speechMs(text, this.ctx.config.chars_per_s)
      const item = { id: itemId, object: 'realtime.item', type: 'message', status: 'in_progress', role: 'assistant', content: [] }
      let started = false
      const end = await synthesize(
        this.ctx,
        openaiEncoder('pcm') as NonNullable<ReturnType<typeof openaiEncoder>>,
        totalMs,
        (bytes) => {
          if (!started) {
            started = true
            this.send({ type: 'response.output_item.added', response_id: responseId, output_index: 0, item })
            this.send({ type: 'response.content_part.added', response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, part: { type: 'audio', transcript: '' } })
          }
          this.send({ type: 'response.audio.delta', response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, delta: bytes.toString('base64') })
          return !this.closed
        },
        { signal: abort.signal, ...(this.drop ? { dropAt: 0.5 } : {}) },
      )
      this.ctx.metrics.count(end)
      if (end === 'dropped') {
        this.drop = false
        resetConnection((this.ws as unknown as { _socket?: Duplex })._socket)
        return
      }
      const usage = { total_tokens: 0, input_tokens: 40 + Math.round(this.audioEndMs / 100), output_tokens: tokenCount(text) * 3 }
      usage.total_tokens = usage.input_tokens + usage.output_tokens
      if (end === 'aborted') {
        this.send({ type: 'response.done', response: response('cancelled', { status_details: { type: 'cancelled', reason: 'turn_detected' }, usage }) })
        return
      }
      const part = { type: 'audio', transcript: text }
      this.send({ type: 'response.audio.done', response_id: responseId, item_id: itemId, output_index: 0, content_index: 0 })
      this.send({ type: 'response.audio_transcript.done', response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, transcript: text })
      this.send({ type: 'response.content_part.done', response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, part })
      const done = { ...item, status: 'completed', content: [part] }
      this.send({ type: 'response.output_item.done', response_id: responseId, output_index: 0, item: done })
      this.send({ type: 'response.done', response: { ...response('completed'), output: [done], usage } })
      this.lastItem = itemId
    } finally {
      admission.release()
      if (this.active === abort) this.active = undefined
    }
  }
}

/** S2S: the OpenAI Realtime WebSocket at `/v1/realtime`. */
export const s2s: KindFactory = (ctx) => ({
  request(req, res, url) {
    ctx.metrics.count('bad_request')
    if (url.pathname === '/v1/realtime') sendJson(res, 426, openaiError(400, 'The realtime API is a WebSocket: connect with Upgrade: websocket.'))
    else sendJson(res, 404, openaiNoRoute(req.method ?? 'GET', url.pathname))
  },
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) {
    if (url.pathname !== '/v1/realtime') {
      refuseUpgrade(socket, 404, openaiNoRoute('GET', url.pathname))
      return
    }
    const accepted = await ctx.accept(req, socket, head, openaiError)
    if (accepted === undefined) return
    new RealtimeSession(ctx, accepted.ws, url.searchParams.get('model') ?? 'gpt-realtime', headerText(req.headers['x-sim-reply']), accepted.drop)
  },
})
