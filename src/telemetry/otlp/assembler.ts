import type { HopRecord, TurnRecord } from '../../types.js'
import { ATTRIBUTE_LIMITS, classify, nodeLatencyUs, storableAttributes, storableText, type AgentSpanRole, type Framework } from './agent-spans.js'
import type { OtlpSpan } from './decode.js'

/** A row of `spans`: a span an agent sent, as received (credentials never, content only when asked). */
export interface SpanRow {
  run_id: string
  trace_id: string
  span_id: string
  parent_span_id: string
  name: string
  kind: number
  service: string
  scope: string
  start_us: number
  end_us: number
  status_code: number
  status_message: string
  attributes: string
  events: string
  framework: string
  /** turn, hop, or empty */
  role: string
  component: string
  conversation_id: string
  turn: number
  /** the proxy's own hop for the same call, when it saw one */
  joined_hop_id: string
}

export interface AssemblerOptions {
  runId: string
  /** keep prompts, transcripts and answers in span attributes */
  keepContent: boolean
  /** how long a service span waits for its turn span (children end, and are often exported, before their parent) */
  holdMs: number
  /** service spans held at most; past it the oldest is written without its turn */
  maxHeld: number
  /** agent turns become `turns` rows; off where simulated callers record their own turns */
  recordTurns: boolean
  row: (table: 'spans' | 'hops' | 'turns', row: SpanRow | HopRecord | TurnRecord) => void
  now?: () => number
}

const turnKey = (conversation: string, turn: number) => `${conversation}\u0000${turn}`

/** What is remembered of every span seen lately: enough to walk up to its turn, not the span itself. */
interface Known {
  parent: string
  turn?: { conversation: string; turn: number }
  /** TTFT/TTFB a LiveKit node span carries for the request span under it */
  nodeLatencyUs?: number
}

/** Spans remembered for the walk up to a turn: bounded, about 100 bytes each. */
const MAX_KNOWN = 100_000

type HopRole = Extract<AgentSpanRole, { role: 'hop' }>

/** What a join needs of a proxy hop: not the whole record, which the store already has. */
interface SeenHop {
  hop_id: string
  component: string
  model: string
  start_us: number
  end_us: number
  /** an agent span has claimed it (traceless joins only: a hop joins one span) */
  joined?: boolean
}

/** What a span tells of the call it timed, for a join without a trace. */
export interface SpanCall {
  model: string
  /** the port the call went to (`server.port`, or the port in `url.full`) */
  serverPort: number | undefined
}

/** How far (µs) a proxy hop may lie outside the agent span that timed the same call: clocks and scheduling. */
const JOIN_SLACK_US = 50_000

/**
 * Proxy hops seen lately, so an agent's service span can be joined with the proxy's hop of the same call:
 * - by trace, for callers that sent a traceparent (at most `max`, the oldest trace's dropped first);
 * - without one (LiveKit JS's default), the last `max` untraced hops in the order they ended: a span that says its
 *   call went to one of this proxy's ports joins the one hop of its component (and model) that lies inside it. Two
 *   or more such hops (concurrent calls of one model) are no join: `ambiguous` counts them, and both stay apart.
 */
export class RecentHops {
  private readonly byTrace = new Map<string, SeenHop[]>()
  private count = 0
  private readonly untraced: Array<SeenHop | undefined>
  private next = 0
  /** the ports this proxy listens on: a span whose call went elsewhere did not pass through it */
  private ports = new Set<number>()
  readonly stats = { ambiguous: 0 }

  constructor(private readonly max = 50_000) {
    this.untraced = new Array<SeenHop | undefined>(max)
  }

  /** The ports the proxy listens on (known once it has started). */
  listening(ports: Iterable<number>): void {
    this.ports = new Set(ports)
  }

  add(hop: HopRecord): void {
    if (hop.trace_id === '' && (this.ports.size === 0 || hop.transport === 'agent' || hop.auxiliary === 1)) return
    const seen: SeenHop = { hop_id: hop.hop_id, component: hop.component, model: hop.model, start_us: hop.start_us, end_us: hop.end_us }
    if (hop.trace_id === '') {
      this.untraced[this.next] = seen
      this.next = (this.next + 1) % this.max
      return
    }
    const list = this.byTrace.get(hop.trace_id)
    if (list === undefined) this.byTrace.set(hop.trace_id, [seen])
    else list.push(seen)
    if (++this.count > this.max) {
      // the oldest trace goes first (Map keeps insertion order)
      const [oldest, hops] = this.byTrace.entries().next().value as [string, SeenHop[]]
      this.byTrace.delete(oldest)
      this.count -= hops.length
    }
  }

  /** The proxy hop of the same call: in the span's trace, else (the span called this proxy) the one untraced hop inside it. */
  match(traceId: string, component: string, startUs: number, endUs: number, call?: SpanCall): SeenHop | undefined {
    const inside = (h: SeenHop) => h.component === component && h.start_us >= startUs - JOIN_SLACK_US && h.end_us <= endUs + JOIN_SLACK_US
    const traced = this.byTrace.get(traceId)?.find(inside)
    if (traced !== undefined || call?.serverPort === undefined || !this.ports.has(call.serverPort)) return traced
    let found: SeenHop | undefined
    // newest first: hops are kept in the order they ended, so the scan stops at the first that ended before the span
    for (let k = 1; k <= this.max; k++) {
      const h = this.untraced[(this.next - k + this.max) % this.max]
      if (h === undefined || h.end_us < startUs - JOIN_SLACK_US) break
      if (h.joined === true || !inside(h) || (call.model !== '' && h.model !== '' && h.model !== call.model)) continue
      if (found !== undefined) {
        this.stats.ambiguous++
        return undefined
      }
      found = h
    }
    if (found !== undefined) found.joined = true
    return found
  }
}

/**
 * Turns an agent's spans into what the analyzer reads: every span a `spans` row; a turn span a `turns` row; a
 * service span (STT, LLM, TTS) a `hops` row in its turn, unless the proxy timed the same call itself (same trace,
 * same component, inside the span): then the span row names the proxy's hop and no second hop is written, so a
 * call is counted once. Service spans usually arrive before their turn span, so they wait for it up to `holdMs`.
 */
export class AgentSpanAssembler {
  private readonly known = new Map<string, Known>()
  private readonly held = new Map<string, { span: OtlpSpan; role: HopRole; since: number }>()
  private readonly turnCounts = new Map<string, number>()
  /** LiveKit's agent turns per trace in start order: a user's turn (its STT) belongs to the reply that follows it */
  private readonly replies = new Map<string, Array<{ startUs: number; key: { conversation: string; turn: number } }>>()
  /** the hops placed in each turn written by the batch being ingested (joined ones too) */
  private readonly counting = new Map<string, number>()
  private readonly now: () => number
  readonly stats = { spans: 0, turns: 0, hops: 0, joined: 0, unresolved: 0 }

  constructor(
    private readonly options: AssemblerOptions,
    private readonly proxyHops?: RecentHops,
  ) {
    this.now = options.now ?? Date.now
  }

  ingest(spans: readonly OtlpSpan[]): void {
    for (const span of spans) this.remember(span)
    const roles = spans.map((span) => [span, classify(span)] as const)
    const turns: TurnRecord[] = []
    for (const [span, role] of roles) if (role.role === 'turn') this.turn(span, role, turns)
    for (const [span, role] of roles) {
      if (role.role === 'hop') this.held.set(span.spanId, { span, role, since: this.now() })
      else if (role.role === 'other') this.writeSpan(span, role.framework, '', '', '', 0, '')
    }
    for (const [id, h] of this.held) {
      const turn = (h.role.framework === 'livekit' && h.role.component === 'stt' ? this.replyAfter(h.span) : undefined) ?? this.turnOf(h.span)
      if (turn !== undefined) {
        this.held.delete(id)
        this.hop(h.span, h.role, turn ?? undefined, turn === null)
      }
    }
    while (this.held.size > this.options.maxHeld) this.expireOldest()
    // a turn row is written once the service spans that came with or before it are in it: they end before it does
    for (const t of turns) {
      t.hop_count = this.counting.get(turnKey(t.conversation_id, t.turn)) ?? 0
      this.options.row('turns', t)
    }
    this.counting.clear()
  }

  /** Writes the service spans whose turn did not come in time, without one. */
  expire(): void {
    const cutoff = this.now() - this.options.holdMs
    for (const [id, h] of this.held) {
      if (h.since > cutoff) break
      this.held.delete(id)
      this.hop(h.span, h.role, undefined)
    }
  }

  /** Writes everything still held (the run is ending). */
  close(): void {
    for (const [id, h] of this.held) {
      this.held.delete(id)
      this.hop(h.span, h.role, undefined)
    }
  }

  get heldCount(): number {
    return this.held.size
  }

  private expireOldest(): void {
    const first = this.held.entries().next().value
    if (first === undefined) return
    this.held.delete(first[0])
    this.hop(first[1].span, first[1].role, undefined)
  }

  private remember(span: OtlpSpan): void {
    const known: Known = { parent: span.parentSpanId }
    const latency = nodeLatencyUs(span)
    if (latency !== undefined) known.nodeLatencyUs = latency
    this.known.set(span.spanId, known)
    if (this.known.size > MAX_KNOWN) this.known.delete(this.known.keys().next().value as string)
  }

  /**
   * The turn a span is in: the nearest ancestor that is a turn span; `null` when its ancestors are all known up to
   * the root and none is a turn (nothing more can come); undefined while some ancestor has not arrived yet.
   */
  private turnOf(span: OtlpSpan): { conversation: string; turn: number } | null | undefined {
    let id = span.parentSpanId
    for (let depth = 0; depth < 32; depth++) {
      if (id === '') return null
      const k = this.known.get(id)
      if (k === undefined) return undefined
      if (k.turn !== undefined) return k.turn
      id = k.parent
    }
    return null
  }

  /** The first LiveKit agent turn of the span's trace that starts once the span (a user's turn) has ended. */
  private replyAfter(span: OtlpSpan): { conversation: string; turn: number } | undefined {
    return this.replies.get(span.traceId)?.find((r) => r.startUs >= span.endUs - 50_000)?.key
  }

  private turn(span: OtlpSpan, role: Extract<AgentSpanRole, { role: 'turn' }>, rows: TurnRecord[]): void {
    const conversation = role.conversation ?? span.traceId
    let turn = role.number
    if (turn === undefined) {
      turn = (this.turnCounts.get(conversation) ?? 0) + 1
      this.turnCounts.set(conversation, turn)
      if (this.turnCounts.size > 100_000) this.turnCounts.delete(this.turnCounts.keys().next().value as string)
    }
    const key = { conversation, turn }
    const known = this.known.get(span.spanId)
    if (known !== undefined) known.turn = key
    if (role.framework === 'livekit') {
      const list = this.replies.get(span.traceId) ?? []
      list.push({ startUs: span.startUs, key })
      list.sort((a, b) => a.startUs - b.startUs)
      this.replies.set(span.traceId, list)
      if (this.replies.size > 10_000) this.replies.delete(this.replies.keys().next().value as string)
    }
    this.writeSpan(span, role.framework, 'turn', '', conversation, turn, '')
    if (!this.options.recordTurns) return
    // Pipecat's turn starts with the user's speech; LiveKit's agent_turn with the reply. The response time is the
    // framework's own measurement either way: first audio = end of the user's speech + its latency.
    const userEnd = span.startUs + (role.userUs ?? 0)
    const error = span.statusCode === 2
    this.stats.turns++
    this.counting.set(turnKey(conversation, turn), 0)
    rows.push({
      run_id: this.runOf(span),
      conversation_id: conversation,
      turn,
      scenario: `agent:${role.framework}`,
      step: 0,
      architecture: 'cascaded',
      user_start_us: span.startUs,
      user_end_us: userEnd,
      first_audio_us: role.latencyUs === undefined ? 0 : userEnd + role.latencyUs,
      end_us: span.endUs,
      // a turn without the framework's latency (LiveKit's text mode: no lk.e2e_latency) succeeded without a response
      // time: it is no failure
      success: !error && !role.interrupted ? 1 : 0,
      interrupted: role.interrupted ? 1 : 0,
      hung_up: 0,
      wer: 0,
      error_kind: error ? 'agent_error' : '',
      // counted once the batch's service spans are placed (see ingest)
      hop_count: 0,
      late_us: 0,
      persona: '',
      transcript: '',
    })
  }

  /** Writes a service span (and its hop); `outside` says it is known to be in no turn, rather than its turn late. */
  private hop(span: OtlpSpan, role: HopRole, turn: { conversation: string; turn: number } | undefined, outside = false): void {
    if (turn === undefined && !outside) this.stats.unresolved++
    const conversation = turn?.conversation ?? span.traceId
    const number = turn?.turn ?? 0
    const joined = this.proxyHops?.match(span.traceId, role.component, span.startUs, span.endUs, { model: role.model, serverPort: role.serverPort })
    // only turns written by this batch are counted (a hop of an earlier turn has nothing to add to)
    if (turn !== undefined && this.counting.size > 0) {
      const key = turnKey(turn.conversation, turn.turn)
      const n = this.counting.get(key)
      if (n !== undefined) this.counting.set(key, n + 1)
    }
    this.writeSpan(span, role.framework, 'hop', role.component, conversation, number, joined?.hop_id ?? '')
    if (joined !== undefined) {
      this.stats.joined++
      return
    }
    const latency = role.latencyUs ?? this.known.get(span.parentSpanId)?.nodeLatencyUs
    const moment = latency === undefined ? 0 : span.startUs + latency
    this.stats.hops++
    this.options.row('hops', {
      run_id: this.runOf(span),
      conversation_id: conversation,
      turn: number,
      hop_id: `otlp-${span.spanId}`,
      component: role.component,
      upstream: role.provider || role.framework,
      instance: '',
      proxy: '',
      adapter: role.framework,
      transport: 'agent',
      method: '',
      route: span.name.slice(0, 256),
      model: role.model.slice(0, 128),
      start_us: span.startUs,
      // an STT span is judged on its final transcript after the user's audio ends: the span's start stands for
      // that end and the framework's delay places the transcript
      request_end_us: role.component === 'stt' ? span.startUs : 0,
      response_start_us: 0,
      first_byte_us: 0,
      first_payload_us: role.component === 'stt' ? 0 : moment,
      final_us: role.component === 'stt' ? moment : span.endUs,
      end_us: span.endUs,
      status: 0,
      error_kind: span.statusCode === 2 ? 'upstream_status' : '',
      bytes_in: 0,
      bytes_out: 0,
      tokens_in: role.tokensIn,
      tokens_out: role.tokensOut,
      audio_ms: 0,
      in_flight: 0,
      trace_id: span.traceId,
      parent_span_id: span.parentSpanId,
      auxiliary: 0,
    })
  }

  private runOf(span: OtlpSpan): string {
    const run = span.attributes['hopwatch.run'] ?? span.resource['hopwatch.run']
    return typeof run === 'string' && run !== '' ? run : this.options.runId
  }

  private writeSpan(span: OtlpSpan, framework: Framework | '', role: string, component: string, conversation: string, turn: number, joined: string): void {
    this.stats.spans++
    this.options.row('spans', {
      run_id: this.runOf(span),
      trace_id: span.traceId,
      span_id: span.spanId,
      parent_span_id: span.parentSpanId,
      name: storableText(span.name).slice(0, 256),
      kind: span.kind,
      service: typeof span.resource['service.name'] === 'string' ? span.resource['service.name'] : '',
      scope: span.scope,
      start_us: span.startUs,
      end_us: span.endUs,
      status_code: span.statusCode,
      status_message: storableText(span.statusMessage).slice(0, 1024),
      attributes: JSON.stringify(storableAttributes(span.attributes, this.options.keepContent)),
      events: JSON.stringify(span.events.slice(0, ATTRIBUTE_LIMITS.events).map((e) => ({ at_us: e.atUs, name: e.name, attributes: storableAttributes(e.attributes, this.options.keepContent) }))),
      framework,
      role,
      component,
      conversation_id: conversation,
      turn,
      joined_hop_id: joined,
    })
  }
}
