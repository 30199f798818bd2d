import type { FaultKind, Faults, Slowdown } from './config.js'
import type { Rng } from './random.js'

/**
 * Service-time multiplier `seconds` after the service started: 1 before `after_s`, rising linearly to `factor` over
 * `ramp_s`, held for `for_s` (0 = for good), then 1 again.
 */
export function slowdownFactor(slowdown: Slowdown | undefined, seconds: number): number {
  if (slowdown === undefined || seconds < slowdown.after_s) return 1
  const intoRamp = seconds - slowdown.after_s
  if (slowdown.for_s > 0 && intoRamp >= slowdown.ramp_s + slowdown.for_s) return 1
  if (slowdown.ramp_s > 0 && intoRamp < slowdown.ramp_s) return 1 + (slowdown.factor - 1) * (intoRamp / slowdown.ramp_s)
  return slowdown.factor
}

/** What a request gets, decided once when it arrives. */
export interface Fate {
  /** a planted error instead of an answer */
  error: FaultKind | undefined
  /** the connection is reset part-way through the answer */
  drop: boolean
}

/**
 * The planted faults of one service. The leak is real: each request retains `bytes_per_request` of touched memory,
 * so the process's resident set grows by that much, and nothing ever frees it.
 */
export class FaultPlan {
  private readonly retained: Buffer[] = []
  private leakedBytes = 0
  private readonly startedAt = performance.now()

  constructor(
    private readonly faults: Faults,
    private readonly rng: Rng,
  ) {}

  /** Draws the fate of one request; the draws happen in arrival order, so a seed reproduces a run. */
  fate(): Fate {
    const error = this.rng.chance(this.faults.errors.rate) ? this.faults.errors.kind : undefined
    const drop = error === undefined && this.rng.chance(this.faults.drop_connections)
    return { error, drop }
  }

  /** Service-time multiplier now. */
  slowdown(): number {
    return slowdownFactor(this.faults.slowdown, (performance.now() - this.startedAt) / 1000)
  }

  /** Retains this request's share of the leak. */
  leak(): void {
    const bytes = this.faults.leak.bytes_per_request
    if (bytes === 0 || this.leakedBytes + bytes > this.faults.leak.limit_bytes) return
    // allocUnsafe + fill writes every page: a zero-filled allocation can stay unmapped and never reach RSS
    this.retained.push(Buffer.allocUnsafe(bytes).fill(this.retained.length % 251))
    this.leakedBytes += bytes
  }

  leaked(): number {
    return this.leakedBytes
  }
}
