/**
 * Seeded randomness for the simulator: every service draws from its own stream, derived from the run's seed and the
 * service's name, so the same seed and the same sequence of requests give the same outcomes.
 */

/** FNV-1a: a stable 32-bit hash of a string, to derive one stream per service from one seed. */
function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** z of the standard normal's 95th percentile: p95 = median × e^(σ·z) for a log-normal. */
const Z95 = 1.6448536269514722

export interface Spread {
  median_ms: number
  p95_ms: number
}

/** mulberry32: small, fast, and good enough for simulation (not for cryptography). */
export class Rng {
  private state: number

  constructor(seed: number | string, stream = '') {
    this.state = hash32(`${seed}/${stream}`)
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p
  }

  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next()
    const v = this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /**
   * A service time from a log-normal with this median and 95th percentile: right-skewed and never negative, the
   * usual shape of server latencies. median = p95 gives a fixed time.
   */
  latencyMs(spread: Spread): number {
    if (spread.p95_ms <= spread.median_ms) return spread.median_ms
    const sigma = Math.log(spread.p95_ms / spread.median_ms) / Z95
    return spread.median_ms * Math.exp(sigma * this.normal())
  }
}
