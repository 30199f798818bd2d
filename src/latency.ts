import type { Component, HopRecord } from './types.js'

/** The moments of a hop that a latency can be measured between. */
type Moment = 'start_us' | 'request_end_us' | 'first_payload_us' | 'final_us' | 'end_us'

interface LatencyDefinition {
  /** where it starts: the first of these moments that was seen */
  from: readonly Moment[]
  /** where it ends */
  to: Moment
}

/**
 * The latency a component is judged on (docs/analysis.md, "Component latency"): stt final transcript after the user's
 * audio ends; llm first token after the request; tts first audio after the request; s2s first audio after the
 * user's audio ends (or the request, when no end of audio was seen); backend and router the whole hop. This table is
 * the one definition: the TypeScript below and the store's SQL (componentLatencySql) are both made from it.
 */
export const COMPONENT_LATENCY: Readonly<Record<Component, LatencyDefinition>> = {
  stt: { from: ['request_end_us'], to: 'final_us' },
  llm: { from: ['start_us'], to: 'first_payload_us' },
  tts: { from: ['start_us'], to: 'first_payload_us' },
  s2s: { from: ['request_end_us', 'start_us'], to: 'first_payload_us' },
  backend: { from: ['start_us'], to: 'end_us' },
  router: { from: ['start_us'], to: 'end_us' },
}

/**
 * Hops that ended before their moment came, for a reason that says nothing about how long it would have taken: the
 * caller gave up (an interruption or a hang-up), the proxy's timeout fired, the connection dropped, the run ended.
 * Their elapsed time is a lower bound of the latency (censored), and it is kept: these are the slowest hops, and
 * leaving them out would make a collapsing component look faster. An answered error (4xx/5xx) is an error, not a
 * latency.
 */
export const CENSORING_KINDS = ['client_abort', 'timeout', 'reset', 'run_ended'] as const

export interface ComponentLatency {
  us: number
  /** a lower bound: the hop ended before its moment came */
  censored: boolean
}

/** A hop's component latency, or its lower bound when it was cut short; undefined when it has neither. */
export function componentLatency(hop: HopRecord): ComponentLatency | undefined {
  const def = COMPONENT_LATENCY[hop.component]
  if (def === undefined || hop.auxiliary === 1) return undefined
  const from = def.from.map((m) => hop[m]).find((t) => t > 0) ?? 0
  if (from <= 0) return undefined
  const kind = hop.error_kind as string
  const measurable = kind === '' || (CENSORING_KINDS as readonly string[]).includes(kind)
  if (!measurable) return undefined
  const to = hop[def.to]
  if (to > 0) return { us: Math.max(0, to - from), censored: false }
  if (kind !== '' && hop.end_us > 0) return { us: Math.max(0, hop.end_us - from), censored: true }
  return undefined
}

/** The latency of a hop that completed its moment (no lower bounds): what live metrics and alerts observe. */
export function componentLatencyUs(hop: HopRecord): number | undefined {
  const latency = componentLatency(hop)
  return latency === undefined || latency.censored ? undefined : latency.us
}

/**
 * The same definition as SQL over the hops table's columns: `latency_us` (−1 when the hop has none) and `censored`
 * (1 for a lower bound), as two expressions for a SELECT list.
 */
export function componentLatencySql(): { latencyUs: string; censored: string } {
  const censoring = `error_kind IN (${CENSORING_KINDS.map((k) => `'${k}'`).join(', ')})`
  const measurable = `(error_kind = '' OR ${censoring})`
  const branches = Object.entries(COMPONENT_LATENCY).map(([component, def]) => {
    const from = def.from.slice(0, -1).reduceRight((rest, m) => `if(${m} > 0, ${m}, ${rest})`, def.from[def.from.length - 1] as string)
    return { component, from, to: def.to }
  })
  const latencyUs = `multiIf(${branches
    .map((b) => `component = '${b.component}', if(NOT ${measurable} OR (${b.from}) <= 0, -1, if(${b.to} > 0, greatest(${b.to} - (${b.from}), 0), if(${censoring} AND end_us > 0, greatest(end_us - (${b.from}), 0), -1)))`)
    .join(',\n  ')}, -1)`
  const censored = `multiIf(${branches.map((b) => `component = '${b.component}', toUInt8(${censoring} AND (${b.from}) > 0 AND ${b.to} = 0 AND end_us > 0)`).join(', ')}, toUInt8(0))`
  return { latencyUs, censored }
}
