/**
 * One clock for every recorded moment: the monotonic high-resolution timer anchored to the wall clock once,
 * so moments from different hops compare exactly and a wall-clock step (NTP) cannot reorder them.
 */
const originMs = performance.timeOrigin

/** Microseconds since the Unix epoch, from the monotonic clock. */
export function nowUs(): number {
  return Math.round((originMs + performance.now()) * 1000)
}
