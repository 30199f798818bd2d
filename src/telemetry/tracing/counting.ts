import type { Context } from '@opentelemetry/api'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base'

/** What became of the spans hopwatch made: exported, failed (the collector refused or was unreachable), dropped (the queue was full). */
export interface SpanCounts {
  exported: number
  failed: number
  dropped: number
  /** ended and not yet exported or failed */
  queued: number
}

/**
 * The accounting around the SDK's batch processor and exporter: a gate in front of the batch queue that drops (and
 * counts) a span when `maxQueue` spans are already waiting or being exported, so the SDK's own queue never drops
 * one silently; and the exporter's results counted per span. Ended spans = exported + failed + dropped + queued.
 */
export class SpanAccounting {
  readonly counts: SpanCounts = { exported: 0, failed: 0, dropped: 0, queued: 0 }

  constructor(private readonly maxQueue: number) {}

  exporter(inner: SpanExporter): SpanExporter {
    const counts = this.counts
    return {
      export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
        inner.export(spans, (result) => {
          counts.queued -= spans.length
          if (result.code === ExportResultCode.SUCCESS) counts.exported += spans.length
          else counts.failed += spans.length
          done(result)
        })
      },
      shutdown: () => inner.shutdown(),
      forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
    }
  }

  processor(inner: SpanProcessor): SpanProcessor {
    const counts = this.counts
    const max = this.maxQueue
    return {
      onStart: (span: Span, parent: Context) => inner.onStart(span, parent),
      onEnd(span: ReadableSpan): void {
        if (counts.queued >= max) {
          counts.dropped++
          return
        }
        counts.queued++
        inner.onEnd(span)
      },
      forceFlush: () => inner.forceFlush(),
      shutdown: () => inner.shutdown(),
    }
  }
}
