/**
 * Where a turn's response time goes: its critical path from the moment the user stops speaking to the agent's
 * first audio, split among the components the caller was waiting on, with network as what no hop covers.
 */

export interface PathHop {
  component: string
  start_us: number
  request_end_us: number
  first_payload_us: number
  final_us: number
  end_us: number
}

export interface TurnPath {
  user_end_us: number
  first_audio_us: number
  hops: PathHop[]
}

/**
 * When hops overlap, the caller is waiting on the innermost or latest stage: TTS's first byte over the LLM still
 * streaming behind it, a tool call over the LLM that asked for it, the LLM over the router that carries it.
 */
const PRIORITY: Record<string, number> = { tts: 6, backend: 5, llm: 4, s2s: 4, router: 3, stt: 2 }

/** The part of a hop the caller waits through: STT until the final transcript, TTS and S2S until the first audio. */
function waitedSegment(hop: PathHop): [number, number] | undefined {
  switch (hop.component) {
    case 'stt':
      return hop.final_us > 0 ? [hop.request_end_us || hop.start_us, hop.final_us] : undefined
    case 'tts':
      return hop.first_payload_us > 0 ? [hop.start_us, hop.first_payload_us] : undefined
    case 's2s':
      return hop.first_payload_us > 0 ? [hop.request_end_us || hop.start_us, hop.first_payload_us] : undefined
    default:
      return hop.end_us > 0 ? [hop.start_us, hop.end_us] : undefined
  }
}

/** µs of one turn's response latency per component, and `network` for the time no hop covers. */
export function criticalPath(turn: TurnPath): Record<string, number> {
  const out: Record<string, number> = {}
  const from = turn.user_end_us
  const to = turn.first_audio_us
  if (from <= 0 || to <= from) return out
  const segments: Array<{ a: number; b: number; component: string }> = []
  for (const hop of turn.hops) {
    const seg = waitedSegment(hop)
    if (seg === undefined) continue
    const a = Math.max(from, seg[0])
    const b = Math.min(to, seg[1])
    if (b > a) segments.push({ a, b, component: hop.component })
  }
  const cuts = [...new Set([from, to, ...segments.flatMap((s) => [s.a, s.b])])].sort((x, y) => x - y)
  for (let i = 0; i + 1 < cuts.length; i++) {
    const a = cuts[i] as number
    const b = cuts[i + 1] as number
    let best: string | undefined
    for (const s of segments) if (s.a <= a && s.b >= b && (best === undefined || (PRIORITY[s.component] ?? 0) > (PRIORITY[best] ?? 0))) best = s.component
    const key = best ?? 'network'
    out[key] = (out[key] ?? 0) + (b - a)
  }
  return out
}

export interface Attribution {
  /** mean response latency (ms) in the baseline and the degraded steps, and its growth */
  baseline_ms: number
  degraded_ms: number
  growth_ms: number
  /** per component (and network): growth of its mean critical-path time (ms) and its share of the response growth */
  components: Record<string, { growth_ms: number; share: number }>
  turns: { baseline: number; degraded: number }
}

const mean = (xs: readonly number[]) => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : 0)

/**
 * How much of the growth in mean response latency between baseline and degraded turns each component explains,
 * from each turn's own critical path: the shares add up to the whole growth, network included.
 */
export function attribute(baseline: readonly TurnPath[], degraded: readonly TurnPath[]): Attribution | undefined {
  const usable = (turns: readonly TurnPath[]) => turns.filter((t) => t.first_audio_us > t.user_end_us && t.user_end_us > 0)
  const b = usable(baseline)
  const d = usable(degraded)
  if (b.length === 0 || d.length === 0) return undefined
  const pathsB = b.map(criticalPath)
  const pathsD = d.map(criticalPath)
  const response = (ts: readonly TurnPath[]) => mean(ts.map((t) => (t.first_audio_us - t.user_end_us) / 1000))
  const baselineMs = response(b)
  const degradedMs = response(d)
  const growth = degradedMs - baselineMs
  const names = [...new Set([...pathsB, ...pathsD].flatMap((p) => Object.keys(p)))].sort()
  const components: Attribution['components'] = {}
  for (const name of names) {
    const g = mean(pathsD.map((p) => (p[name] ?? 0) / 1000)) - mean(pathsB.map((p) => (p[name] ?? 0) / 1000))
    components[name] = { growth_ms: g, share: growth !== 0 ? g / growth : 0 }
  }
  return { baseline_ms: baselineMs, degraded_ms: degradedMs, growth_ms: growth, components, turns: { baseline: b.length, degraded: d.length } }
}
