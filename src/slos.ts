/**
 * The default service-level objectives (docs/architecture.md), the industry bands a voice agent is judged by: the analyzer's verdicts and
 * the live alert rules start from the same numbers.
 */
export const DESIGN_SLOS = {
  /** user stops speaking → first agent audio */
  response_p95_ms: 1500,
  /** each component's latency as src/latency.ts defines it */
  components_p95_ms: { stt: 800, llm: 1500, tts: 600, network: 300 },
  success_min: 0.95,
} as const
