import { trace } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { SpanAccounting, type SpanCounts } from './counting.js'
import { TURN_TRACE_DEFAULTS, TurnTraces, type TurnTraceOptions } from './turn-traces.js'

export type TraceCounts = SpanCounts & { untraced: number }

export interface OtlpExportConfig {
  endpoint?: string | undefined
  max_queue: number
  max_batch: number
  timeout_ms: number
}

/** The traces URL: a base endpoint gets /v1/traces, as OTEL_EXPORTER_OTLP_ENDPOINT does; a full one is kept. */
export function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint)
  if (!url.pathname.endsWith('/v1/traces')) url.pathname = `${url.pathname.replace(/\/$/, '')}/v1/traces`
  return url.toString()
}

/**
 * Where turn traces go, or undefined when they are off: the config's endpoint, else the standard variables
 * (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT); OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none turn them off whatever the config says.
 */
export function exportTarget(config: OtlpExportConfig, env: NodeJS.ProcessEnv = process.env): { url?: string } | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined
  if (env.OTEL_TRACES_EXPORTER?.split(',').map((s) => s.trim()).includes('none') === true) return undefined
  if (config.endpoint !== undefined) return { url: tracesUrl(config.endpoint) }
  // the exporter reads these itself (with OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION)
  if ((env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '') !== '') return {}
  return undefined
}

/** Turn traces on their way to a collector: the tracer provider, the accounting of what was lost, and the builder. */
export class Tracing {
  private constructor(
    private readonly provider: NodeTracerProvider,
    private readonly accounting: SpanAccounting,
    readonly turns: TurnTraces,
    readonly url: string,
  ) {}

  /**
   * Starts a Node tracer provider with the OTLP/HTTP exporter behind a bounded batch queue, and the turn trace
   * builder. Undefined when no endpoint is configured. The provider is the process's global one until stop().
   */
  static start(config: OtlpExportConfig, options: { version: string; turnOptions?: TurnTraceOptions; env?: NodeJS.ProcessEnv } = { version: '' }): Tracing | undefined {
    const target = exportTarget(config, options.env)
    if (target === undefined) return undefined
    const exporter = new OTLPTraceExporter({ ...(target.url !== undefined ? { url: target.url } : {}), timeoutMillis: config.timeout_ms })
    const accounting = new SpanAccounting(config.max_queue)
    const batch = new BatchSpanProcessor(accounting.exporter(exporter), {
      maxQueueSize: config.max_queue,
      maxExportBatchSize: Math.min(config.max_batch, config.max_queue),
      scheduledDelayMillis: 1000,
      exportTimeoutMillis: config.timeout_ms,
    })
    // a tracer provider alone (traces only: no metric or log exporters, no instrumentations), registered globally with
    // Node's async context, as the full SDK would do for traces
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME ?? 'hopwatch', 'service.version': options.version }),
      spanProcessors: [accounting.processor(batch)],
    })
    provider.register()
    const tracer = trace.getTracer('hopwatch', options.version)
    const turns = new TurnTraces(tracer, options.turnOptions ?? TURN_TRACE_DEFAULTS)
    const url = target.url ?? process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? tracesUrl(process.env.OTEL_EXPORTER_OTLP_ENDPOINT as string)
    return new Tracing(provider, accounting, turns, url)
  }

  /** What became of the spans, and the hops never made into one (a turn past its maxHops). */
  counts(): TraceCounts {
    return { ...this.accounting.counts, untraced: this.turns.untraced }
  }

  /** Sends what waits, flushes the queue (within the export timeout) and shuts the provider down. */
  async stop(): Promise<TraceCounts> {
    this.turns.close()
    await this.provider.shutdown().catch(() => {})
    trace.disable()
    return this.counts()
  }
}
