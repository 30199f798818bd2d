import type { Rng } from '../sim/random.js'

/**
 * Arrival offsets (ms from the step's start) of a Poisson process at `ratePerMs` over `durationMs`: exponential gaps,
 * drawn up front so a generator that falls behind still knows when each conversation was due.
 */
export function poissonArrivals(rng: Rng, ratePerMs: number, durationMs: number): number[] {
  const out: number[] = []
  if (ratePerMs <= 0) return out
  for (let at = -Math.log(1 - rng.next()) / ratePerMs; at < durationMs; at += -Math.log(1 - rng.next()) / ratePerMs) out.push(at)
  return out
}
