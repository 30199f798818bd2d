import type { HopRecord } from './types.js'

/**
 * The latency a component is judged on (DESIGN.md, "Component latency"), in microseconds, or undefined when the hop
 * lacks the moments: stt final transcript after the user's audio ends; llm first token after the request; tts first
 * audio after the request; s2s first audio after the user's audio ends; backend and router the whole hop.
 */
export function componentLatencyUs(hop: HopRecord): number | undefined {
  switch (hop.component) {
    case 'stt':
      return since(hop.request_end_us, hop.final_us)
    case 'llm':
    case 'tts':
      return since(hop.start_us, hop.first_payload_us)
    case 's2s':
      return since(hop.request_end_us || hop.start_us, hop.first_payload_us)
    case 'backend':
    case 'router':
      return since(hop.start_us, hop.end_us)
  }
}

function since(from: number, to: number): number | undefined {
  return from > 0 && to > 0 ? Math.max(0, to - from) : undefined
}
