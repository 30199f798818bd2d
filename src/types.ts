/**
 * The shared vocabulary of hopwatch (see docs/architecture.md, "The words"). Every area speaks in these types;
 * this module imports nothing so that any area may import it.
 */

export const COMPONENTS = ['stt', 'llm', 'tts', 's2s', 'backend', 'router'] as const
/** What an upstream is. */
export type Component = (typeof COMPONENTS)[number]

/** How a hop travelled: a plain request/response, or one exchange on a WebSocket. */
/** http and ws: through the proxy; agent: from the agent's own spans (OTLP receiver) */
export type Transport = 'http' | 'ws' | 'agent'

/**
 * Why a hop did not end well. Empty string means it did.
 * - `upstream_status`: the upstream answered 4xx/5xx (the status column says which)
 * - `rate_limited`: the upstream answered 429
 * - `connect`: the upstream could not be reached
 * - `timeout`: the upstream took longer than the configured timeout
 * - `reset`: the upstream closed the connection mid-response
 * - `client_abort`: the caller went away before the hop ended
 * - `too_large`: a body or frame exceeded the configured limit
 * - `protocol`: a malformed request or frame
 */
export type ErrorKind =
  | ''
  | 'upstream_status'
  | 'rate_limited'
  | 'connect'
  | 'timeout'
  | 'reset'
  | 'client_abort'
  | 'too_large'
  | 'protocol'

/**
 * One hop as stored in the `hops` table: one request (or one WebSocket exchange) from a caller to one upstream.
 * Times are integer microseconds since the Unix epoch; 0 means the moment was not seen.
 */
export interface HopRecord {
  run_id: string
  conversation_id: string
  turn: number
  hop_id: string
  component: Component
  upstream: string
  /** host:port of the upstream that served the hop */
  instance: string
  adapter: string
  transport: Transport
  method: string
  /** request path without its query string (query strings may hold credentials) */
  route: string
  model: string
  start_us: number
  /** the caller finished sending: request body end, last audio frame, finalize/commit message */
  request_end_us: number
  /** upstream response headers (HTTP) or the upstream connection opening (WebSocket) */
  response_start_us: number
  /** first response body byte or first upstream message of the exchange */
  first_byte_us: number
  /** the moment the component is judged on: first token, first audio byte, first transcript */
  first_payload_us: number
  /** last token, final transcript, last audio */
  final_us: number
  end_us: number
  status: number
  error_kind: ErrorKind
  /** bytes from the caller to the upstream */
  bytes_in: number
  /** bytes from the upstream to the caller */
  bytes_out: number
  tokens_in: number
  tokens_out: number
  /** audio carried by the hop: the user's audio for stt/s2s input, the synthesized audio for tts */
  audio_ms: number
  /** hops of the same upstream in flight when this one started (itself included) */
  in_flight: number
  trace_id: string
  parent_span_id: string
  /**
   * 1 when the hop is not the component's work (a model listing, an account lookup): recorded, never judged, so a
   * session's `GET /v1/models` is no LLM "TTFT". Each adapter decides per route; 0 on rows older than the column.
   */
  auxiliary: number
  /** the proxy that recorded the hop (proxy.name: its pod, or host/pid): several proxies, one per agent pod, write one run */
  proxy: string
}

/** One load test. Rows of every table carry its `run_id`. */
export interface RunRecord {
  run_id: string
  name: string
  started_us: number
  source: string
  hopwatch_version: string
  config_json: string
}

/** The architectures a simulated caller can talk to. */
export const ARCHITECTURES = ['cascaded', 's2s', 'multi-model'] as const
export type Architecture = (typeof ARCHITECTURES)[number]

/**
 * One turn as the caller experienced it: the user speaks (user_start → user_end), the agent's first audio arrives
 * (first_audio_us; 0 when none came), the caller listens until end_us. Response latency = first_audio − user_end.
 */
export interface TurnRecord {
  run_id: string
  conversation_id: string
  turn: number
  scenario: string
  step: number
  architecture: Architecture
  user_start_us: number
  user_end_us: number
  first_audio_us: number
  end_us: number
  success: 0 | 1
  interrupted: 0 | 1
  hung_up: 0 | 1
  /** word error rate of the STT transcript against what the caller said (0 when no STT was involved) */
  wer: number
  error_kind: string
  hop_count: number
  /** how late the conversation started against its schedule */
  late_us: number
  persona: string
  transcript: string
}

/** One load step: its target, what was achieved, and the generator's own health while it ran. */
export interface StepRecord {
  run_id: string
  step: number
  phase: string
  load_model: 'closed' | 'open'
  target_load: number
  achieved_load: number
  start_us: number
  end_us: number
  shard: string
  started: number
  late_starts: number
  dropped_starts: number
  lateness_p99_ms: number
  generator_lag_p99_ms: number
  generator_cpu: number
  generator_limited: 0 | 1
  /** why this step's measurement is no evidence ('' when it is valid): the generator or the host was the limit */
  invalid_reason: string
  /** the host's busy CPU share over the step, every process counted (0–1) */
  host_cpu: number
}
