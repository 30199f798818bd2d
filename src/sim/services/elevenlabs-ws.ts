import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'
import { elevenlabsEncoder, speechMs, type AudioEncoder } from '../audio-format.js'
import { refuseUpgrade, resetConnection } from '../http.js'
import type { ServiceContext } from '../service.js'
import { synthesize } from '../synthesis.js'
import { elevenlabsError } from './elevenlabs-shape.js'

const STREAM_INPUT = /^\/v1\/text-to-speech\/[^/]+\/(stream-input|multi-stream-input)$/
/** ElevenLabs' default: characters buffered before the first, second, … generation starts */
const DEFAULT_SCHEDULE = [120, 160, 250, 290]

interface InputMessage {
  text?: unknown
  flush?: unknown
  try_trigger_generation?: unknown
  generation_config?: { chunk_length_schedule?: unknown }
  context_id?: unknown
  close_context?: unknown
  close_socket?: unknown
}

/**
 * ElevenLabs WebSocket input streaming. `/v1/text-to-speech/{voice}/stream-input`: text arrives in pieces, is
 * buffered until the chunk-length schedule, `flush` or the end (`{"text": ""}`) triggers a generation, and each
 * generation (a job for a worker) streams `{"audio", "isFinal": null, "normalizedAlignment"}` messages; after the
 * end, `{"isFinal": true}` and close 1000. `/multi-stream-input` (LiveKit's plugin) does the same per `context_id`,
 * contexts generating side by side: audio messages carry `contextId`, `close_context` ends one context with
 * `{"isFinal": true, "contextId"}`, `close_socket` ends them all and closes 1000.
 */
export function elevenlabsStreamInput(ctx: ServiceContext) {
  return async (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> => {
    const route = STREAM_INPUT.exec(url.pathname)
    if (route === null) {
      refuseUpgrade(socket, 404, elevenlabsError(404, `no WebSocket route ${url.pathname}; input streaming is /v1/text-to-speech/{voice_id}/stream-input or …/multi-stream-input`))
      return
    }
    const format = url.searchParams.get('output_format') ?? 'mp3_44100_128'
    const encoder = elevenlabsEncoder(format)
    if (encoder === undefined) {
      ctx.metrics.count('bad_request')
      refuseUpgrade(socket, 400, elevenlabsError(400, `Invalid output format for the simulator: ${format}`, 'invalid_output_format'))
      return
    }
    const accepted = await ctx.accept(req, socket, head, elevenlabsError)
    if (accepted === undefined) return
    new InputStream(ctx, accepted.ws, encoder, accepted.drop, Number(url.searchParams.get('inactivity_timeout') ?? 20), route[1] === 'multi-stream-input')
  }
}

/** One context's text buffer and its generations, in order. */
interface Context {
  id: string
  buffer: string
  schedule: number[]
  generations: number
  chain: Promise<void>
}

class InputStream {
  private readonly contexts = new Map<string, Context>()
  private closed = false
  private idle: NodeJS.Timeout | undefined
  private readonly abort = new AbortController()

  constructor(
    private readonly ctx: ServiceContext,
    private readonly ws: WebSocket,
    private readonly encoder: AudioEncoder,
    private drop: boolean,
    private readonly inactivityS: number,
    private readonly multi: boolean,
  ) {
    ws.on('message', (data: Buffer, isBinary) => this.message(data, isBinary))
    ws.on('close', () => this.stop())
    ws.on('error', () => this.stop())
    this.touch()
  }

  private stop(): void {
    this.closed = true
    clearTimeout(this.idle)
    this.abort.abort()
  }

  private touch(): void {
    clearTimeout(this.idle)
    this.idle = setTimeout(() => this.fail('input_timeout_exceeded', `Have not received new text for ${this.inactivityS} seconds. Closing the connection.`), Math.max(1, this.inactivityS) * 1000)
  }

  /** Tells the caller what went wrong, then closes with 1008 (policy violation), as ElevenLabs does. */
  private fail(error: string, message: string): void {
    if (this.closed) return
    this.send({ message, error, code: 1008 })
    this.ws.close(1008, message.slice(0, 120))
    this.stop()
  }

  private contextOf(id: string): Context {
    let context = this.contexts.get(id)
    if (context === undefined) this.contexts.set(id, (context = { id, buffer: '', schedule: DEFAULT_SCHEDULE, generations: 0, chain: Promise.resolve() }))
    return context
  }

  private message(data: Buffer, isBinary: boolean): void {
    this.touch()
    if (isBinary) return this.fail('invalid_message', 'Binary messages are not accepted; send JSON text messages.')
    let msg: InputMessage
    try {
      msg = JSON.parse(data.toString('utf8')) as InputMessage
    } catch {
      return this.fail('invalid_message', 'Invalid JSON message.')
    }
    if (msg === null || typeof msg !== 'object') return this.fail('invalid_message', 'Every message must be a JSON object.')
    if (this.multi && msg.close_socket === true) return this.closeSocket()
    const context = this.contextOf(this.multi && typeof msg.context_id === 'string' ? msg.context_id : '')
    if (this.multi && msg.close_context === true) return this.finish(context, false)
    if (typeof msg.text !== 'string') {
      if (this.multi && msg.flush === true) return this.generate(context)
      return this.fail('invalid_message', "Every message needs a 'text' string.")
    }
    const schedule = msg.generation_config?.chunk_length_schedule
    if (Array.isArray(schedule) && schedule.length > 0 && schedule.every((n) => typeof n === 'number' && n >= 1)) context.schedule = schedule as number[]
    if (msg.text === '' && !this.multi) return this.finish(context, true)
    // the opening message's text is a single space: it starts the context and says nothing
    context.buffer += msg.text === ' ' && context.buffer === '' && context.generations === 0 ? '' : msg.text
    const threshold = context.schedule[Math.min(context.generations, context.schedule.length - 1)] as number
    if (msg.flush === true || msg.try_trigger_generation === true || context.buffer.length >= threshold) this.generate(context)
  }

  /** Generates what the context still holds, then says it is final; single-context streams then close. */
  private finish(context: Context, closeAfter: boolean): void {
    this.generate(context)
    this.contexts.delete(context.id)
    context.chain = context.chain.then(() => {
      if (this.closed) return
      this.send(this.multi ? { isFinal: true, contextId: context.id } : { isFinal: true })
      if (closeAfter) this.ws.close(1000)
    })
  }

  private closeSocket(): void {
    const pending = [...this.contexts.values()]
    for (const context of pending) this.finish(context, false)
    void Promise.all(pending.map((c) => c.chain)).then(() => {
      if (!this.closed) this.ws.close(1000)
    })
  }

  private generate(context: Context): void {
    const text = context.buffer.trim()
    context.buffer = ''
    if (text === '') return
    context.generations++
    const admission = this.ctx.pool.acquire(this.abort.signal)
    const tag = this.multi ? { contextId: context.id } : {}
    context.chain = context.chain.then(async () => {
      const granted = await admission
      if (!granted.admitted) {
        this.ctx.metrics.count(granted.reason === 'aborted' ? 'aborted' : 'rejected')
        if (granted.reason === 'queue_full') this.fail('system_busy', 'The service is overloaded: too many generations waiting. Try again later.')
        return
      }
      try {
        const totalMs = speechMs(text, this.ctx.config.chars_per_s)
        const chars = [...text]
        const charMs = totalMs / chars.length
        let sentChars = 0
        const end = await synthesize(
          this.ctx,
          this.encoder,
          totalMs,
          (bytes) => {
            // each audio message carries the alignment of the characters it speaks
            const upTo = Math.min(chars.length, Math.ceil((chars.length * (sentChars + 1)) / Math.max(1, Math.ceil(totalMs / 100))))
            const spoken = chars.slice(sentChars, Math.max(upTo, sentChars))
            const alignment = { chars: spoken, charStartTimesMs: spoken.map((_, i) => Math.round((sentChars + i) * charMs)), charDurationsMs: spoken.map(() => Math.round(charMs)) }
            sentChars += spoken.length
            this.send({ audio: bytes.toString('base64'), isFinal: null, normalizedAlignment: alignment, alignment, ...tag })
            return !this.closed
          },
          { signal: this.abort.signal, ...(this.drop ? { dropAt: 0.5 } : {}), header: false },
        )
        this.ctx.metrics.count(end)
        if (end === 'dropped') {
          this.drop = false
          resetConnection((this.ws as unknown as { _socket?: Duplex })._socket)
        }
      } finally {
        granted.release()
      }
    })
  }

  private send(message: object): void {
    if (!this.closed && this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message))
  }
}
