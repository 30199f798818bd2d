/**
 * Built-in simulator configs. `default` is a realistic cascaded stack whose breaking point is known: the LLM (few
 * workers, a long queue) saturates first, so its time to first token climbs while STT and TTS stay flat; the backend
 * API has a hard cap of 100 concurrent requests and answers 503 beyond it. It also has an S2S service for the
 * speech-to-speech architecture.
 */
export const PRESETS: Readonly<Record<string, unknown>> = {
  default: {
    seed: 7,
    services: [
      { name: 'stt', kind: 'stt', workers: 64, queue: 512, latency: { median_ms: 120, p95_ms: 250 }, wer: { base: 0.03, growth: 0.1 } },
      { name: 'llm', kind: 'llm', workers: 6, queue: 1000, ttft: { median_ms: 220, p95_ms: 450 }, tokens_per_s: 100, reply_words: { min: 10, max: 30 } },
      { name: 'tts', kind: 'tts', workers: 64, queue: 512, ttfb: { median_ms: 90, p95_ms: 180 }, realtime_factor: 0.1 },
      { name: 's2s', kind: 's2s', workers: 16, queue: 256, ttfb: { median_ms: 400, p95_ms: 800 } },
      { name: 'backend', kind: 'backend', workers: 100, queue: 0, reject_status: 503, latency: { median_ms: 40, p95_ms: 100 } },
    ],
  },
  /**
   * multi-model: an agent whose router sends three requests in four to a small fast model and the rest to a large
   * one with few workers, which saturates first.
   */
  'multi-model': {
    seed: 7,
    services: [
      { name: 'stt', kind: 'stt', workers: 64, queue: 512, latency: { median_ms: 120, p95_ms: 250 } },
      { name: 'router', kind: 'router', latency: { median_ms: 5, p95_ms: 15 }, routes: [{ service: 'llm-fast', weight: 3 }, { service: 'llm-large', weight: 1 }] },
      { name: 'llm-fast', kind: 'llm', workers: 8, queue: 1000, ttft: { median_ms: 150, p95_ms: 300 }, tokens_per_s: 150 },
      { name: 'llm-large', kind: 'llm', workers: 2, queue: 1000, ttft: { median_ms: 450, p95_ms: 900 }, tokens_per_s: 60 },
      { name: 'tts', kind: 'tts', workers: 64, queue: 512, ttfb: { median_ms: 90, p95_ms: 180 }, realtime_factor: 0.1 },
      { name: 'backend', kind: 'backend', workers: 100, queue: 0, reject_status: 503, latency: { median_ms: 40, p95_ms: 100 } },
    ],
  },
}

export const PRESET_NAMES = Object.keys(PRESETS)
