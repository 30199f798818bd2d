import { hopEnded } from '../../src/events.js'
import type { HopRecord } from '../../src/types.js'

/** Collects every hop the proxy publishes, as the store writer would. */
export class HopCollector {
  readonly hops: HopRecord[] = []
  private waiters: Array<() => void> = []
  private readonly listener = (message: unknown) => {
    this.hops.push({ ...(message as HopRecord) })
    for (const w of this.waiters.splice(0)) w()
  }

  constructor() {
    hopEnded.subscribe(this.listener)
  }

  /** Resolves once at least `n` hops have ended. */
  async waitFor(n: number, timeoutMs = 10_000): Promise<HopRecord[]> {
    const deadline = Date.now() + timeoutMs
    while (this.hops.length < n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} hops, saw ${this.hops.length}: ${JSON.stringify(this.hops.map((h) => [h.upstream, h.route, h.error_kind]))}`)
      await new Promise<void>((r) => {
        this.waiters.push(r)
        setTimeout(r, 100)
      })
    }
    return this.hops
  }

  clear(): void {
    this.hops.length = 0
  }

  dispose(): void {
    hopEnded.unsubscribe(this.listener)
  }
}

/** Asserts the HTTP lifecycle order of a hop's moments; returns the violations (empty when ordered). */
export function lifecycleViolations(hop: HopRecord): string[] {
  const order: Array<keyof HopRecord> = ['start_us', 'response_start_us', 'first_byte_us', 'first_payload_us', 'final_us', 'end_us']
  const problems: string[] = []
  let previous = 0
  let previousName = ''
  for (const name of order) {
    const value = hop[name] as number
    if (value === 0) continue
    if (value < previous) problems.push(`${name} (${value}) before ${previousName} (${previous})`)
    previous = value
    previousName = name
  }
  return problems
}
