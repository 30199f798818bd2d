import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import { BoundCounter, BoundHistogram } from './bound-series.js'
import { LOOP_SAMPLE_MS } from '../clock.js'
import { hopEnded, turnEnded } from '../events.js'
import { componentLatencyUs } from '../latency.js'
import type { HopRecord, TurnRecord } from '../types.js'

/** The per-hop histograms' buckets, seconds; spans a fast backend call to a queued LLM. */
export const HOP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60]

export interface UpstreamGauge {
  name: string
  component: string
  inFlight: number
}

/** A turn's outcome label: success, or the first reason it was not. */
export function turnOutcome(turn: TurnRecord): string {
  if (turn.success === 1) return 'success'
  if (turn.hung_up === 1) return 'hung_up'
  if (turn.error_kind !== '') return 'error'
  if (turn.interrupted === 1) return 'interrupted'
  return 'failed'
}

const STATUS_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx']

interface Observer {
  observe(value: number): void
}

interface Incrementer {
  inc(): void
}

interface UpstreamSeries {
  responseStart: Observer
  firstPayload: Observer
  final: Observer
  end: Observer
  component: Observer
  hops: Map<string, Incrementer>
  errors: Map<string, Incrementer>
}

/** The writer's counters, as the store reports them (structurally typed so telemetry needs no store import). */
export interface StoreCounts {
  tables: Record<string, { written: number; spilled: number; replayed: number; found_stored: number; dropped: Record<string, number> }>
  queuedRows: number
  spillBytes: number
  storeUp: boolean
}

/** The live alerts' counters (structurally typed, as the alerts module reports them). */
export interface AlertCounts {
  firing: number
  sent: number
  failed: number
  dropped: number
}

/** What became of the turn trace spans (structurally typed, as src/telemetry/tracing reports them). */
export interface TracingCounts {
  exported: number
  failed: number
  dropped: number
  queued: number
  /** hops of a turn past its span limit, never made into spans */
  untraced: number
}

/** The OTLP receiver's counters. */
export interface ReceiverCounts {
  spans: number
  malformed: number
  too_large: number
  busy: number
  failed: number
  held: number
}

/** The upstream name cache's counters (structurally typed, as src/proxy/dns-cache.ts reports them). */
export interface DnsCounts {
  /** new upstream connections that asked for a name's address */
  asked: number
  /** lookups that came back with an address, and those that came back with an error or none */
  resolved: number
  failed: number
}

/** A counter that follows a running total read at scrape time (undefined: nothing to read, the counter stays). */
function followTotal(registers: Registry[], name: string, help: string, read: () => number | undefined): void {
  let reported = 0
  new Counter({
    name,
    help,
    registers,
    collect() {
      const total = read()
      if (total === undefined) return
      this.inc(Math.max(0, total - reported))
      reported = total
    },
  })
}

/** Counters by one label, each following a running total read at scrape time. */
function followTotals<K extends string>(registers: Registry[], name: string, help: string, label: string, keys: readonly K[], read: () => Record<K, number> | undefined): void {
  const reported = new Map<string, number>()
  new Counter({
    name,
    help,
    labelNames: [label],
    registers,
    collect() {
      const totals = read()
      if (totals === undefined) return
      for (const key of keys) {
        this.inc({ [label]: key }, Math.max(0, totals[key] - (reported.get(key) ?? 0)))
        reported.set(key, totals[key])
      }
    },
  })
}

/**
 * Prometheus metrics of the proxy, fed by the `hopwatch:hop:end` channel: per-upstream latency by stage and the
 * component latency src/latency.ts defines, hop and error counts, in-flight, and the store writer's queue, spill and drops.
 */
export class ProxyMetrics {
  readonly registry = new Registry()
  // the per-hop series are bound ones (bound-series.ts): recording a hop hashes no labels
  private readonly stage: BoundHistogram
  private readonly component: BoundHistogram
  private readonly hops: BoundCounter
  private readonly errors: BoundCounter
  private readonly listener = (message: unknown) => this.observe(message as HopRecord)
  private readonly turns: Counter<'outcome'>
  private readonly turnListener = (message: unknown) => this.turns.inc({ outcome: turnOutcome(message as TurnRecord) })
  /** label-bound series per upstream, so recording a hop allocates no label objects */
  private readonly series = new Map<string, UpstreamSeries>()

  constructor(upstreams: () => readonly UpstreamGauge[], store?: () => StoreCounts, more: { alerts?: () => AlertCounts | undefined; tracing?: () => TracingCounts | undefined; receiver?: () => ReceiverCounts | undefined; dns?: () => DnsCounts | undefined } = {}) {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry, prefix: 'hopwatch_', eventLoopMonitoringPrecision: LOOP_SAMPLE_MS })
    this.stage = new BoundHistogram({ name: 'hopwatch_hop_stage_seconds', help: 'Time from hop start to each stage: response_start (headers), first_payload (first token/audio/transcript), final, end', labelNames: ['upstream', 'component', 'stage'], buckets: HOP_BUCKETS, registry: this.registry })
    this.component = new BoundHistogram({ name: 'hopwatch_component_latency_seconds', help: 'The latency each component is judged on: stt final transcript after user audio end, llm TTFT, tts TTFB, s2s first audio after user audio end, backend total', labelNames: ['upstream', 'component'], buckets: HOP_BUCKETS, registry: this.registry })
    this.hops = new BoundCounter({ name: 'hopwatch_hops_total', help: 'Hops ended, by upstream and status class', labelNames: ['upstream', 'component', 'status_class'], registry: this.registry })
    this.errors = new BoundCounter({ name: 'hopwatch_hop_errors_total', help: 'Hops that ended in error, by kind (upstream_status, rate_limited, connect, timeout, reset, client_abort, too_large, protocol)', labelNames: ['upstream', 'component', 'kind'], registry: this.registry })
    new Gauge({
      name: 'hopwatch_upstream_in_flight',
      help: 'Hops in flight per upstream and component (one upstream may serve several: OpenAI chat, speech, transcriptions)',
      labelNames: ['upstream', 'component'],
      registers,
      collect() {
        for (const u of upstreams()) this.set({ upstream: u.name, component: u.component }, u.inFlight)
      },
    })
    this.turns = new Counter({ name: 'hopwatch_turns_total', help: 'Simulated callers\' turns ended, by outcome (success, interrupted, hung_up, error, failed); present where callers run', labelNames: ['outcome'], registers })
    if (store !== undefined) this.storeMetrics(store)
    if (more.alerts !== undefined) this.alertMetrics(more.alerts)
    if (more.tracing !== undefined) this.tracingMetrics(more.tracing)
    if (more.receiver !== undefined) this.receiverMetrics(more.receiver)
    if (more.dns !== undefined) this.dnsMetrics(more.dns)
    hopEnded.subscribe(this.listener)
    turnEnded.subscribe(this.turnListener)
  }

  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() }
  }

  dispose(): void {
    hopEnded.unsubscribe(this.listener)
    turnEnded.unsubscribe(this.turnListener)
  }

  private observe(hop: HopRecord): void {
    const s = this.seriesOf(hop)
    this.count(s, hop)
    // an auxiliary hop (GET /v1/models) is counted, never timed: its stages are not the component's
    if (hop.auxiliary === 1) return
    const start = hop.start_us
    if (hop.response_start_us > 0) s.responseStart.observe((hop.response_start_us - start) / 1e6)
    if (hop.first_payload_us > 0) s.firstPayload.observe((hop.first_payload_us - start) / 1e6)
    if (hop.final_us > 0) s.final.observe((hop.final_us - start) / 1e6)
    if (hop.end_us > 0) s.end.observe((hop.end_us - start) / 1e6)
    const latency = componentLatencyUs(hop)
    if (latency !== undefined && hop.error_kind === '') s.component.observe(latency / 1e6)
  }

  private count(s: UpstreamSeries, hop: HopRecord): void {
    const statusClass = hop.status === 0 ? 'none' : STATUS_CLASSES[Math.floor(hop.status / 100)] ?? 'none'
    let hops = s.hops.get(statusClass)
    if (hops === undefined) s.hops.set(statusClass, (hops = this.hops.labels({ upstream: hop.upstream, component: hop.component, status_class: statusClass })))
    hops.inc()
    if (hop.error_kind !== '') {
      let errors = s.errors.get(hop.error_kind)
      if (errors === undefined) s.errors.set(hop.error_kind, (errors = this.errors.labels({ upstream: hop.upstream, component: hop.component, kind: hop.error_kind })))
      errors.inc()
    }
  }

  private seriesOf(hop: HopRecord): UpstreamSeries {
    const key = `${hop.upstream}\u0000${hop.component}`
    let s = this.series.get(key)
    if (s === undefined) {
      const labels = { upstream: hop.upstream, component: hop.component }
      const stage = (name: string) => this.stage.labels({ ...labels, stage: name })
      s = { responseStart: stage('response_start'), firstPayload: stage('first_payload'), final: stage('final'), end: stage('end'), component: this.component.labels(labels), hops: new Map(), errors: new Map() }
      this.series.set(key, s)
    }
    return s
  }

  private storeMetrics(store: () => StoreCounts): void {
    const registers = [this.registry]
    const reported = new Map<string, number>()
    new Counter({
      name: 'hopwatch_store_rows_total',
      help: 'Rows by table and outcome: written, spilled (to disk while the store was down or behind), replayed, found_stored (spilled rows a failed insert had stored after all, not inserted again), dropped_<reason> (could not be kept)',
      labelNames: ['table', 'outcome'],
      registers,
      collect() {
        for (const [table, c] of Object.entries(store().tables)) {
          const outcomes: Array<[string, number]> = [['written', c.written], ['spilled', c.spilled], ['replayed', c.replayed], ['found_stored', c.found_stored], ...Object.entries(c.dropped).map(([r, n]): [string, number] => [`dropped_${r}`, n])]
          for (const [outcome, value] of outcomes) {
            const key = `${table}/${outcome}`
            const delta = value - (reported.get(key) ?? 0)
            if (delta > 0) this.inc({ table, outcome }, delta)
            else if (!reported.has(key)) this.inc({ table, outcome }, 0)
            reported.set(key, value)
          }
        }
      },
    })
    new Gauge({ name: 'hopwatch_store_queue_rows', help: 'Rows waiting in memory for the store', registers, collect() { this.set(store().queuedRows) } })
    new Gauge({ name: 'hopwatch_store_spill_bytes', help: 'Bytes in spill files awaiting replay', registers, collect() { this.set(store().spillBytes) } })
    new Gauge({ name: 'hopwatch_store_up', help: '1 when the last insert succeeded', registers, collect() { this.set(store().storeUp ? 1 : 0) } })
  }

  private alertMetrics(alerts: () => AlertCounts | undefined): void {
    const registers = [this.registry]
    followTotals(registers, 'hopwatch_alert_notifications_total', 'Alert notifications by outcome: sent, failed (the sink refused or did not answer), dropped (a sink too far behind)', 'outcome', ['sent', 'failed', 'dropped'], alerts)
    new Gauge({ name: 'hopwatch_alerts_firing', help: 'Live alerts firing now', registers, collect() { this.set(alerts()?.firing ?? 0) } })
  }

  private tracingMetrics(tracing: () => TracingCounts | undefined): void {
    const registers = [this.registry]
    followTotals(registers, 'hopwatch_otel_spans_total', 'Turn trace spans by outcome: exported, failed (the collector refused or was unreachable), dropped (the export queue was full), untraced (a turn past its 256 hop spans)', 'outcome', ['exported', 'failed', 'dropped', 'untraced'], tracing)
    new Gauge({ name: 'hopwatch_otel_spans_queued', help: 'Turn trace spans waiting for export', registers, collect() { this.set(tracing()?.queued ?? 0) } })
  }

  private receiverMetrics(receiver: () => ReceiverCounts | undefined): void {
    const registers = [this.registry]
    followTotal(registers, 'hopwatch_otlp_received_spans_total', 'Spans an agent sent to POST /v1/traces', () => receiver()?.spans)
    followTotals(registers, 'hopwatch_otlp_rejected_total', 'OTLP requests not recorded: malformed (400), too_large (413), busy (503, the bound on bodies in progress), failed (500, decoded but not recorded)', 'reason', ['malformed', 'too_large', 'busy', 'failed'], receiver)
    new Gauge({ name: 'hopwatch_otlp_held_spans', help: 'Agent service spans waiting for their turn span', registers, collect() { this.set(receiver()?.held ?? 0) } })
  }

  private dnsMetrics(dns: () => DnsCounts | undefined): void {
    const registers = [this.registry]
    followTotal(registers, 'hopwatch_upstream_dns_asked_total', 'New upstream connections that asked for a host name\'s address (an IP literal asks nothing); answered from the name cache unless a lookup was needed', () => dns()?.asked)
    followTotals(registers, 'hopwatch_upstream_dns_lookups_total', 'Lookups of upstream host names by the system resolver (the first for a name, then one renewal every 5 s while it is used), by outcome: resolved, or failed (an error or no address; a name that had an answer keeps it for 60 s)', 'outcome', ['resolved', 'failed'], dns)
  }
}
