import type { AlertChangeRow } from '../store/analysis.js'

/** The alert a proxy raises when its own event loop lags (src/alerts/rules.ts): its timestamps lag with it. */
export const PROXY_OVERLOADED = 'proxy_overloaded'

/** The share of a step a proxy may lag for before the step is no evidence: one 5 s evaluation of a minute is not. */
export const PROXY_SATURATED_SHARE = 0.2

interface Span {
  proxy: string
  start_us: number
  end_us: number
  /** the highest event-loop lag p99 reported in it, ms */
  lag_ms: number
}

/** When each proxy lagged: from the alert's pending (or firing) to its resolution, or on to the end of the run. */
function spans(alerts: readonly AlertChangeRow[]): Span[] {
  const open = new Map<string, Span>()
  const out: Span[] = []
  for (const a of [...alerts].filter((x) => x.rule === PROXY_OVERLOADED).sort((x, y) => x.at_us - y.at_us)) {
    const current = open.get(a.component)
    if (a.state === 'pending' || a.state === 'firing') {
      if (current === undefined) open.set(a.component, { proxy: a.component, start_us: a.at_us, end_us: Number.POSITIVE_INFINITY, lag_ms: a.value })
      else current.lag_ms = Math.max(current.lag_ms, a.value)
    } else if (current !== undefined) {
      current.end_us = a.at_us
      out.push(current)
      open.delete(a.component)
    }
  }
  return [...out, ...open.values()]
}

/**
 * Why each step is no evidence because a proxy that recorded it was saturated for at least PROXY_SATURATED_SHARE of
 * it: a proxy whose event loop lags stamps its hops late, so its latencies are partly its own.
 */
export function proxySaturation(alerts: readonly AlertChangeRow[] | undefined, steps: ReadonlyArray<{ step: number; start_us?: number; end_us?: number }>): Map<number, string> {
  const reasons = new Map<number, string>()
  const lagged = spans(alerts ?? [])
  if (lagged.length === 0) return reasons
  for (const step of steps) {
    if (step.start_us === undefined || step.end_us === undefined || step.end_us <= step.start_us) continue
    const length = step.end_us - step.start_us
    const why: string[] = []
    for (const s of lagged) {
      const overlap = Math.min(s.end_us, step.end_us) - Math.max(s.start_us, step.start_us)
      if (overlap >= PROXY_SATURATED_SHARE * length) why.push(`the proxy ${s.proxy} was saturated (its event-loop lag p99 reached ${Math.round(s.lag_ms)} ms) for ${Math.round(overlap / 1e6)} s of the step: its timestamps lag`)
    }
    if (why.length > 0) reasons.set(step.step, why.join('; '))
  }
  return reasons
}
