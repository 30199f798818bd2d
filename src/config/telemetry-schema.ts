import { DEFAULTS } from './defaults.js'
import { bool, int, num, obj, optional, str, url, withDefault } from './validate.js'

const T = DEFAULTS.telemetry

/**
 * The `telemetry:` section: turn traces out to an OTLP/HTTP collector (off unless an endpoint is set here or in
 * OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and the OTLP/HTTP receiver for an agent's spans.
 */
export function telemetrySchema() {
  return obj({
    otlp: obj({
      /** the collector's base URL (…:4318) or its full traces URL (…/v1/traces) */
      endpoint: optional(url({ protocols: ['http', 'https'], example: 'http://127.0.0.1:4318' })),
      /** spans waiting for export at most; past it new spans are dropped and counted */
      max_queue: withDefault(int({ min: 16, max: 1_000_000, fix: 'a span count, e.g. 8192' }), T.otlp.max_queue),
      max_batch: withDefault(int({ min: 1, max: 100_000, fix: 'a span count, e.g. 512' }), T.otlp.max_batch),
      timeout_ms: withDefault(num({ min: 100, max: 600_000, fix: 'milliseconds, e.g. 10000' }), T.otlp.timeout_ms),
    }),
    receiver: obj({
      enabled: withDefault(bool(), T.receiver.enabled),
      max_body_bytes: withDefault(int({ min: 1024, max: 1 << 30, fix: 'bytes, e.g. 8388608 (8 MiB)' }), T.receiver.max_body_bytes),
      /** bodies in progress from all senders together (never less than max_body_bytes) */
      max_pending_bytes: withDefault(int({ min: 1024, max: 2 ** 40, fix: 'bytes, e.g. 33554432 (32 MiB)' }), T.receiver.max_pending_bytes),
      /** how long a service span waits for its turn span before it is stored without one */
      hold_s: withDefault(num({ min: 0, max: 3600, fix: 'seconds, e.g. 30' }), T.receiver.hold_s),
      /** keep prompts, transcripts and answers found in span attributes (off: they are never stored) */
      keep_content: withDefault(bool(), T.receiver.keep_content),
      /** the environment variable with the bearer token; when it is unset the receiver takes spans on loopback only */
      token_env: withDefault(str({ pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, fix: 'an environment variable name, e.g. HOPWATCH_RECEIVER_TOKEN' }), T.receiver.token_env),
      max_requests_per_s: withDefault(num({ min: 0.1, max: 1_000_000, fix: 'requests a second per source, e.g. 50' }), T.receiver.max_requests_per_s),
      max_bytes_per_s: withDefault(int({ min: 1024, max: 2 ** 40, fix: 'bytes a second per source, e.g. 16777216' }), T.receiver.max_bytes_per_s),
    }),
  })
}
