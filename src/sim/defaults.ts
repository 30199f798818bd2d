/**
 * Every default of a simulated service, by kind, with units in the names. The schema (config.ts) fills these in.
 * The numbers are those of a healthy hosted stack at low load: what a caller sees before anything queues.
 */
export const SIM_DEFAULTS = {
  seed: 1,
  host: '127.0.0.1',
  /** 25 MiB: the OpenAI transcription API's own upload limit, and the bound on any request body the simulator reads */
  max_body_bytes: 25 * 1024 * 1024,
  kinds: {
    stt: {
      workers: 32,
      queue: 256,
      /** end of the user's audio → final transcript */
      latency: { median_ms: 150, p95_ms: 350 },
      /** word error rate at or below capacity, and what is added per unit of load beyond it */
      wer: { base: 0.03, growth: 0.1 },
      /** an interim result per this much streamed audio (when the caller asks for interim results) */
      interim_ms: 1000,
      /** a live stream with no message for this long is closed, as Deepgram closes one after 10 s */
      idle_timeout_ms: 10_000,
    },
    llm: {
      workers: 16,
      queue: 256,
      ttft: { median_ms: 300, p95_ms: 700 },
      tokens_per_s: 60,
      /** length of a generated answer, when the caller names none */
      reply_words: { min: 8, max: 40 },
    },
    tts: {
      workers: 32,
      queue: 256,
      ttfb: { median_ms: 120, p95_ms: 260 },
      /** seconds of work per second of audio: 0.2 streams five times faster than it plays */
      realtime_factor: 0.2,
      /** speaking rate of the synthesized voice at speed 1 */
      chars_per_s: 15,
    },
    s2s: {
      workers: 16,
      queue: 64,
      /** commit (or end of speech) → first audio delta */
      ttfb: { median_ms: 350, p95_ms: 800 },
      realtime_factor: 0.2,
      chars_per_s: 15,
      reply_words: { min: 8, max: 30 },
    },
    router: {
      workers: 1000,
      queue: 1000,
      /** the router's own time before it forwards */
      latency: { median_ms: 5, p95_ms: 15 },
    },
    backend: {
      /** a hard cap: an API that serves this many at once and refuses the rest */
      workers: 100,
      queue: 0,
      latency: { median_ms: 40, p95_ms: 120 },
    },
  },
  /** status for requests beyond the queue */
  reject_status: 429,
  /** a leak stops growing past this many retained bytes, so a forgotten leak cannot take the machine down */
  leak_limit_bytes: 2 * 1024 * 1024 * 1024,
} as const
