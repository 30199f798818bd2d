import { nowUs } from '../clock.js'
import { hopEnded } from '../events.js'
import type { Component, ErrorKind, HopRecord, Transport } from '../types.js'
import type { HopMarks } from './adapters/types.js'
import type { Correlation } from './correlation.js'
import type { Upstream } from './upstream.js'

let hopSeq = 0
const hopPrefix = `${process.pid.toString(36)}${Date.now().toString(36)}`

/**
 * One hop's lifecycle: start → request end → response start → first byte → payload → final → end | error.
 * Each transition stamps the clock once; finish() publishes the record to `hopwatch:hop:end` exactly once, and from
 * then on the record is final: the writer queues it as it is, so a mark that comes later (a stream or socket still
 * reporting) changes nothing.
 */
export class Hop implements HopMarks {
  readonly record: HopRecord
  private finished = false

  constructor(
    private readonly upstream: Upstream,
    private readonly component: Component,
    correlation: Correlation,
    turn: number,
    transport: Transport,
    method: string,
    route: string,
  ) {
    const inFlight = upstream.enter(component)
    this.record = {
      run_id: correlation.runId,
      conversation_id: correlation.conversationId,
      turn,
      hop_id: `${hopPrefix}-${(hopSeq++).toString(36)}`,
      component,
      upstream: upstream.config.name,
      instance: upstream.instance,
      proxy: upstream.proxyName,
      adapter: upstream.adapter.name,
      transport,
      method,
      route,
      model: '',
      start_us: nowUs(),
      request_end_us: 0,
      response_start_us: 0,
      first_byte_us: 0,
      first_payload_us: 0,
      final_us: 0,
      end_us: 0,
      status: 0,
      error_kind: '',
      bytes_in: 0,
      bytes_out: 0,
      tokens_in: 0,
      tokens_out: 0,
      audio_ms: 0,
      in_flight: inFlight,
      trace_id: correlation.traceId,
      parent_span_id: correlation.parentSpanId,
      auxiliary: 0,
    }
  }

  get done(): boolean {
    return this.finished
  }

  /** The caller finished its part, now or at a moment an adapter located (the end of speech in a live stream). */
  requestEnd(atUs = nowUs()): void {
    if (this.finished) return
    this.record.request_end_us = atUs
  }

  /** The hop's content began earlier than its first byte: a live STT exchange starts with speech, not with silence. */
  startAt(atUs: number): void {
    if (this.finished) return
    if (atUs > 0) this.record.start_us = atUs
  }

  responseStart(status: number): void {
    if (this.finished) return
    const r = this.record
    if (r.response_start_us === 0) r.response_start_us = nowUs()
    r.status = status
    if (status === 429) r.error_kind = 'rate_limited'
    else if (status >= 400) r.error_kind = 'upstream_status'
  }

  /** Counts bytes towards the caller; the first one stamps first_byte. */
  responseBytes(n: number): void {
    if (this.finished) return
    const r = this.record
    if (r.first_byte_us === 0) r.first_byte_us = nowUs()
    r.bytes_out += n
  }

  requestBytes(n: number): void {
    if (this.finished) return
    this.record.bytes_in += n
  }

  /** Only the component's work answered with success has a payload: an error body's first byte is no "TTFT". */
  firstPayload(): void {
    if (this.finished) return
    const r = this.record
    if (r.first_payload_us === 0 && r.status < 400 && r.auxiliary === 0) r.first_payload_us = nowUs()
  }

  /** The hop is not the component's work (a model listing): recorded, never judged. */
  markAuxiliary(): void {
    if (this.finished) return
    this.record.auxiliary = 1
  }

  final(): void {
    if (this.finished) return
    this.record.final_us = nowUs()
  }

  usage(tokensIn: number, tokensOut: number): void {
    if (this.finished) return
    this.record.tokens_in = tokensIn
    this.record.tokens_out = tokensOut
  }

  audio(ms: number): void {
    if (this.finished) return
    this.record.audio_ms += ms
  }

  model(name: string): void {
    if (this.finished) return
    if (this.record.model === '') this.record.model = name.slice(0, 128)
  }

  /** Drops the hop unpublished: it carried no content (silence between utterances). */
  discard(): void {
    if (this.finished) return
    this.finished = true
    this.upstream.leave(this.component)
  }

  /** Ends the hop; an error kind given here wins over one inferred from the status. Later calls do nothing. */
  finish(errorKind: ErrorKind = ''): void {
    if (this.finished) return
    this.finished = true
    this.upstream.leave(this.component)
    const r = this.record
    r.end_us = nowUs()
    if (errorKind !== '') r.error_kind = errorKind
    r.audio_ms = Math.round(r.audio_ms)
    if (hopEnded.hasSubscribers) hopEnded.publish(r)
  }
}
