import type { HopwatchConfig } from '../config/index.js'
import { coerceRow, type TableName } from '../store/index.js'
import { AgentTraces, guardedReceiver, type GuardOptions, type OtlpSpan } from '../telemetry/otlp/index.js'
import { Tracing, type TraceCounts } from '../telemetry/tracing/index.js'
import { CliError } from './errors.js'
import { VERSION } from './version.js'

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}
import type { Recording } from './recording.js'

/**
 * The receiver for an agent's own spans, writing into the run's recording, or undefined when the config turns it
 * off. `callers` says simulated callers record their own turns in this process (their turns are the run's; the
 * agent's turn spans are then kept in `spans` only).
 */
export function agentTracesFor(config: HopwatchConfig, recording: Recording, callers: boolean): AgentTraces | undefined {
  const r = config.telemetry.receiver
  if (!r.enabled) return undefined
  return new AgentTraces({
    guard: receiverGuard(config),
    runId: recording.runId,
    maxBodyBytes: r.max_body_bytes,
    maxPendingBytes: r.max_pending_bytes,
    holdS: r.hold_s,
    keepContent: r.keep_content,
    recordTurns: !callers,
    // an agent's spans are outside input: each row is made to fit its columns first, so one absurd value cannot
    // fail every batch it lands in
    row: (table, row) => {
      coerceRow(table as TableName, row as unknown as Record<string, unknown>)
      recording.agentWriter.push(table, row)
    },
  })
}

/** Who may send spans, and how much: the token from `token_env`, and the per-source rates. */
function receiverGuard(config: HopwatchConfig): Omit<GuardOptions, 'maxBodyBytes'> {
  const r = config.telemetry.receiver
  const token = process.env[r.token_env]
  // without a token only callers on this host may send: a receiver open beyond loopback is a write path for anyone
  if ((token === undefined || token === '') && !isLoopbackHost(config.proxy.host)) {
    throw new CliError('HW_CLI_USAGE', `the OTLP receiver would take spans from anyone on the network (proxy.host ${config.proxy.host}): set ${r.token_env} to a secret token (senders add OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer <token>"), or telemetry.receiver.enabled: false`)
  }
  return { token: token === '' ? undefined : token, requestsPerS: r.max_requests_per_s, bytesPerS: r.max_bytes_per_s }
}

/**
 * A `--workers` worker's receiver: it reads, checks and decodes what agents send to /v1/traces, and hands the spans
 * to the store owner (`accept`), whose assembler joins them with every worker's hops. Each worker applies the
 * per-source rates to what it receives itself.
 */
export function workerReceiverFor(config: HopwatchConfig, accept: (spans: OtlpSpan[]) => void): ReturnType<typeof guardedReceiver> | undefined {
  const r = config.telemetry.receiver
  if (!r.enabled) return undefined
  return guardedReceiver({ maxBodyBytes: r.max_body_bytes, maxPendingBytes: r.max_pending_bytes, guard: receiverGuard(config) }, accept)
}

/** Turn traces out to the configured collector, or undefined when none is configured (config or OTEL_* variables). */
export function tracingFor(config: HopwatchConfig, warn: (line: string) => void = (l) => process.stderr.write(l)): Tracing | undefined {
  const tracing = Tracing.start(config.telemetry.otlp, { version: VERSION })
  if (tracing !== undefined) warn(`hopwatch: turn traces go to ${tracing.url} (OTLP/HTTP)\n`)
  return tracing
}

/** One line on what became of the turn trace spans; what was lost is said, never silent. */
export function describeTraced(c: TraceCounts): string {
  const lost = c.failed + c.dropped + c.queued + c.untraced
  return `turn traces: ${c.exported} spans exported${lost > 0 ? `, ${c.failed} failed (collector refused or unreachable), ${c.dropped} dropped (export queue full)${c.queued > 0 ? `, ${c.queued} unsent at exit` : ''}${c.untraced > 0 ? `, ${c.untraced} hops untraced (over 256 in a turn)` : ''}` : ''}\n`
}
