import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Tracer } from '@opentelemetry/api'
import { hopEnded, turnEnded } from '../../events.js'
import { componentLatencyUs } from '../../latency.js'
import type { HopRecord, TurnRecord } from '../../types.js'

/** Microseconds since the epoch as the API's HrTime ([seconds, nanoseconds]). */
const hr = (us: number): [number, number] => [Math.floor(us / 1e6), (us % 1e6) * 1000]
const ms = (from: number, to: number) => (from > 0 && to > 0 ? Math.round((to - from) / 100) / 10 : undefined)

/** The GenAI provider an adapter speaks to, where it has one. */
const PROVIDER: Record<string, string> = { openai: 'openai', 'openai-realtime': 'openai', deepgram: 'deepgram', elevenlabs: 'elevenlabs' }
/** The GenAI operation of a component; Pipecat's names for speech. */
const OPERATION: Record<string, string> = { llm: 'chat', stt: 'stt', tts: 'tts', s2s: 'realtime' }
/** What the component's first payload is. */
const FIRST: Record<string, string> = { llm: 'first_token', tts: 'first_audio', s2s: 'first_audio', stt: 'first_transcript' }

interface Pending {
  hops: HopRecord[]
  turn?: TurnRecord
  /** when the turn record came, or the last hop (ms, performance.now()) */
  touched: number
}

export interface TurnTraceOptions {
  /** how long after a caller's turn ended its last hops may still arrive (ms) */
  graceMs: number
  /** without simulated callers, a turn is done when no hop came for this long (ms) */
  idleMs: number
  /** turns waiting at most; past it the oldest is sent as it is */
  maxTurns: number
  /** hops kept per turn; past it they are counted, not traced */
  maxHops: number
}

export const TURN_TRACE_DEFAULTS: TurnTraceOptions = { graceMs: 1000, idleMs: 5000, maxTurns: 10_000, maxHops: 256 }

/**
 * One trace per conversation turn, built from what the proxy and the callers publish: a `hopwatch.turn` span from
 * the end of the user's audio to the end of the agent's answer, and a child span per hop with the moments as
 * events. Where the caller sent a `traceparent`, the turn span is a child of the caller's span, so it nests in the
 * agent's own trace. Built off the hot path: the channels only append to a bounded map, a sweep sends.
 */
export class TurnTraces {
  private readonly pending = new Map<string, Pending>()
  private readonly timer: NodeJS.Timeout
  private readonly onHop = (m: unknown) => this.hop(m as HopRecord)
  private readonly onTurn = (m: unknown) => this.turn(m as TurnRecord)
  /** hops not traced because their turn already had maxHops: spans never made, counted */
  untraced = 0

  constructor(
    private readonly tracer: Tracer,
    private readonly options: TurnTraceOptions = TURN_TRACE_DEFAULTS,
    private readonly now: () => number = () => performance.now(),
  ) {
    hopEnded.subscribe(this.onHop)
    turnEnded.subscribe(this.onTurn)
    this.timer = setInterval(() => this.sweep(), Math.min(options.graceMs, options.idleMs, 1000))
    this.timer.unref()
  }

  /** Sends every turn still waiting and stops listening. */
  close(): void {
    clearInterval(this.timer)
    hopEnded.unsubscribe(this.onHop)
    turnEnded.unsubscribe(this.onTurn)
    for (const [key, p] of this.pending) {
      this.pending.delete(key)
      this.send(p)
    }
  }

  private entry(key: string): Pending {
    let p = this.pending.get(key)
    if (p === undefined) {
      p = { hops: [], touched: this.now() }
      this.pending.set(key, p)
      if (this.pending.size > this.options.maxTurns) {
        const [oldKey, oldest] = this.pending.entries().next().value as [string, Pending]
        this.pending.delete(oldKey)
        this.send(oldest)
      }
    }
    return p
  }

  private hop(hop: HopRecord): void {
    const p = this.entry(`${hop.run_id}\0${hop.conversation_id}\0${hop.turn}`)
    if (p.hops.length >= this.options.maxHops) {
      this.untraced++
      return
    }
    p.hops.push(hop)
    if (p.turn === undefined) p.touched = this.now()
  }

  private turn(turn: TurnRecord): void {
    const p = this.entry(`${turn.run_id}\0${turn.conversation_id}\0${turn.turn}`)
    p.turn = turn
    p.touched = this.now()
  }

  sweep(): void {
    const now = this.now()
    for (const [key, p] of this.pending) {
      const wait = p.turn !== undefined ? this.options.graceMs : this.options.idleMs
      if (now - p.touched < wait) continue
      this.pending.delete(key)
      this.send(p)
    }
  }

  private send(p: Pending): void {
    const first = p.hops[0]
    const turn = p.turn
    if (turn === undefined && first === undefined) return
    const caller = p.hops.find((h) => h.trace_id !== '' && h.parent_span_id !== '')
    const parent: Context = caller === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, { traceId: caller.trace_id, spanId: caller.parent_span_id, traceFlags: TraceFlags.SAMPLED, isRemote: true })
    const start = turn !== undefined ? turn.user_end_us || turn.user_start_us : Math.min(...p.hops.map((h) => h.start_us))
    const end = turn !== undefined ? Math.max(turn.end_us, start) : Math.max(...p.hops.map((h) => h.end_us))
    const ids = turn ?? (first as HopRecord)
    const attributes: Attributes = {
      'hopwatch.run': ids.run_id,
      'hopwatch.conversation': ids.conversation_id,
      'hopwatch.turn': ids.turn,
      'hopwatch.hop_count': p.hops.length,
    }
    if (turn !== undefined) {
      Object.assign(attributes, {
        'hopwatch.step': turn.step,
        'hopwatch.scenario': turn.scenario,
        'hopwatch.architecture': turn.architecture,
        'hopwatch.success': turn.success === 1,
        'hopwatch.interrupted': turn.interrupted === 1,
        'hopwatch.hung_up': turn.hung_up === 1,
        'hopwatch.wer': turn.wer,
      })
      const response = ms(turn.user_end_us, turn.first_audio_us)
      if (response !== undefined) attributes['hopwatch.response_ms'] = response
    }
    const span = this.tracer.startSpan('hopwatch.turn', { kind: SpanKind.INTERNAL, startTime: hr(start), attributes }, parent)
    if (turn !== undefined) {
      if (turn.user_start_us > 0) span.addEvent('user_audio_start', hr(turn.user_start_us))
      if (turn.first_audio_us > 0) span.addEvent('first_audio', hr(turn.first_audio_us))
      if (turn.error_kind !== '' || turn.success === 0) span.setStatus({ code: SpanStatusCode.ERROR, message: turn.error_kind || (turn.hung_up === 1 ? 'hung_up' : turn.interrupted === 1 ? 'interrupted' : 'failed') })
    }
    const inTurn = trace.setSpan(ROOT_CONTEXT, span)
    for (const hop of p.hops) this.hopSpan(hop, inTurn, turn?.step)
    span.end(hr(end))
  }

  private hopSpan(hop: HopRecord, parent: Context, step: number | undefined): void {
    const provider = PROVIDER[hop.adapter]
    const operation = OPERATION[hop.component]
    const attributes: Attributes = {
      'hopwatch.component': hop.component,
      'hopwatch.upstream': hop.upstream,
      'hopwatch.hop_id': hop.hop_id,
      'hopwatch.adapter': hop.adapter,
      'hopwatch.transport': hop.transport,
      'hopwatch.in_flight': hop.in_flight,
      'url.path': hop.route,
    }
    if (step !== undefined) attributes['hopwatch.step'] = step
    if (operation !== undefined) attributes['gen_ai.operation.name'] = operation
    if (provider !== undefined) {
      attributes['gen_ai.provider.name'] = provider
      attributes['gen_ai.system'] = provider
    }
    if (hop.model !== '') attributes['gen_ai.request.model'] = hop.model
    if (hop.tokens_in > 0) attributes['gen_ai.usage.input_tokens'] = hop.tokens_in
    if (hop.tokens_out > 0) attributes['gen_ai.usage.output_tokens'] = hop.tokens_out
    if (hop.status > 0) attributes['http.response.status_code'] = hop.status
    if (hop.instance !== '') attributes['server.address'] = hop.instance
    if (hop.audio_ms > 0) attributes['hopwatch.audio_ms'] = hop.audio_ms
    const ttfb = ms(hop.start_us, hop.first_byte_us)
    if (ttfb !== undefined) attributes['hopwatch.ttfb_ms'] = ttfb
    const firstPayload = ms(hop.start_us, hop.first_payload_us)
    if (firstPayload !== undefined) attributes[hop.component === 'llm' ? 'hopwatch.ttft_ms' : 'hopwatch.first_payload_ms'] = firstPayload
    const latency = componentLatencyUs(hop)
    if (latency !== undefined) attributes['hopwatch.latency_ms'] = Math.round(latency / 100) / 10
    if (hop.error_kind !== '') attributes['error.type'] = hop.error_kind
    const name = hop.component === 'llm' && hop.model !== '' ? `chat ${hop.model}` : `${operation ?? hop.component} ${hop.model || hop.upstream}`
    const span = this.tracer.startSpan(name, { kind: SpanKind.CLIENT, startTime: hr(hop.start_us), attributes }, parent)
    if (hop.request_end_us > 0) span.addEvent('request_end', hr(hop.request_end_us))
    if (hop.response_start_us > 0) span.addEvent('response_start', hr(hop.response_start_us))
    if (hop.first_byte_us > 0) span.addEvent('first_byte', hr(hop.first_byte_us))
    if (hop.first_payload_us > 0) span.addEvent(FIRST[hop.component] ?? 'first_payload', hr(hop.first_payload_us))
    if (hop.final_us > 0) span.addEvent(hop.component === 'stt' ? 'final_transcript' : 'final', hr(hop.final_us))
    if (hop.error_kind !== '') span.setStatus({ code: SpanStatusCode.ERROR, message: hop.error_kind })
    span.end(hr(Math.max(hop.end_us, hop.start_us)))
  }
}
