/**
 * Every default of hopwatch.yaml in one place, with units in the names. The schema (schema.ts) fills these in.
 */
export const DEFAULTS = {
  proxy: {
    /** loopback by default: a proxy is not to be exposed by accident */
    host: '127.0.0.1',
    port: 8787,
    /** 25 MiB: the OpenAI transcription API's own upload limit */
    max_body_bytes: 25 * 1024 * 1024,
    /** 16 MiB per WebSocket message: a realtime audio append is far smaller */
    max_frame_bytes: 16 * 1024 * 1024,
    /** above this many bytes queued towards one side of a WebSocket, the other side is paused */
    ws_high_water_bytes: 4 * 1024 * 1024,
    /** open connections per upstream origin */
    connections_per_upstream: 1024,
    timeouts: {
      connect_ms: 10_000,
      /** until the upstream's response headers; LLMs under load queue for a long time before answering */
      headers_ms: 120_000,
      /** longest silence inside a streamed response body */
      idle_ms: 120_000,
    },
    /**
     * The callers' side of every listener: time to send a request's headers (a slowloris client is closed after it),
     * to send a whole request (bodies included), the longest pause inside a request body, an idle keep-alive
     * connection's life, connections at once, and connections at once from one client address (0: no cap; a
     * sidecar's traffic all comes from the agent's one address, so the cap is for a proxy that many hosts share), and
     * the accept queue of each listening socket: callers that connect at once beyond it have their handshake dropped
     * and wait a second or more for a SYN retry (Node's own 511 overflowed at 1,000 callers; Linux caps it at
     * net.core.somaxconn).
     */
    clients: { headers_timeout_ms: 30_000, request_timeout_ms: 300_000, body_idle_ms: 30_000, keep_alive_ms: 72_000, max_connections: 20_000, max_connections_per_client: 0, listen_backlog: 4096 },
    /** serve /_hopwatch/sql to callers other than loopback (off: it can read and change the store) */
    admin_remote: false,
    /** the admin API's own listener (POST /_hopwatch/sql, GET /_hopwatch/stats); 0: any free port, found through the store's owner file */
    admin_host: '127.0.0.1',
    admin_port: 0,
  },
  store: {
    /** the embedded engine's directory; ignored when clickhouse.url is set */
    dir: './.hopwatch',
    database: 'hopwatch',
    /** rows held in memory per table before further rows spill straight to disk */
    queue_rows: 100_000,
    batch_rows: 5_000,
    flush_ms: 1_000,
    /** how often a store that failed is tried again */
    retry_ms: 2_000,
    /** an insert that takes longer is abandoned and its rows spilled (to be looked up on replay: it may have landed) */
    insert_timeout_ms: 10_000,
    /** the spill files' total bound; rows past it are dropped and counted */
    spill_max_bytes: 1024 * 1024 * 1024,
  },
  load: {
    architecture: 'cascaded',
    /** closed: a target of concurrent conversations; open: conversation arrivals per second */
    model: 'closed',
    profile: 'ramp',
    /** ramp and stress: start at this load, × factor every step_s, up to max */
    start: 10,
    factor: 1.25,
    step_s: 300,
    max: 1000,
    /** spike: the expected peak (baseline 30 % of it, spike 2.5× it) */
    peak: 100,
    /** soak: the level held for duration_s */
    level: 50,
    duration_s: 4 * 3600,
    /** every duration (steps, think times, audio pacing) is divided by this; system latencies never are */
    time_scale: 1,
    scenarios: ['booking', 'support', 'faq'],
    seed: 1,
    stop_on_breach: false,
    /** closed model: extend a step (up to 3× its length) until this many of its turns have ended, so each has enough for a p95; 0: never */
    min_turns_per_step: 0,
    /** the default SLOs (docs/architecture.md): response p95 under 1.5 s, at least 95 % of turns successful */
    slo: { response_p95_ms: 1500, success_min: 0.95 },
    /** open model: conversations in flight at most; arrivals beyond are dropped and counted */
    max_concurrency: 10_000,
    connections_per_upstream: 2048,
    models: { llm: 'gpt-4o-mini', tts: 'tts-1', voice: 'alloy', stt: 'nova-3', s2s: 'gpt-realtime' },
  },
  resources: {
    interval_s: 5,
    self: true,
    sim: true,
  },
  alerts: {
    enabled: true,
    eval_s: 5,
    window_s: 60,
    for_s: 30,
    repeat_s: 3600,
    /** a memory slope needs minutes of samples to be told from a GC cycle */
    memory_window_s: 900,
    min_events: 20,
    rules: {
      s2s_p95_ms: 1200,
      backend_p95_ms: 500,
      /** hops that failed (a caller's own hang-up is not the system's error) */
      error_rate_max: 0.05,
      memory_slope_mb_per_h: 50,
      /** the generator's event-loop lag p99 above which its own numbers are not to be trusted */
      generator_lag_ms: 50,
      /** a proxy's own event-loop lag p99 above which it stamps hops late (`hopwatch proxy`: proxy_overloaded) */
      proxy_lag_ms: 50,
    },
    sinks: { log: true, timeout_ms: 5_000 },
  },
  telemetry: {
    otlp: { max_queue: 8192, max_batch: 512, timeout_ms: 10_000 },
    receiver: {
      enabled: true,
      max_body_bytes: 8 * 1024 * 1024,
      max_pending_bytes: 32 * 1024 * 1024,
      hold_s: 30,
      keep_content: false,
      /** the environment variable holding the bearer token senders must present (a secret never sits in the config, which is stored with the run) */
      token_env: 'HOPWATCH_RECEIVER_TOKEN',
      /** per source address: requests a second (twice that as a burst) and body bytes a second */
      max_requests_per_s: 50,
      max_bytes_per_s: 16 * 1024 * 1024,
    },
  },
} as const
