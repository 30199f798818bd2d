/**
 * A service's capacity: `workers` requests are served at once, up to `queue` more wait in arrival order, and any
 * beyond are rejected. Waits therefore grow with concurrency the way an overloaded model server's do: with 4 workers
 * and 16 requests at once, the last four wait three service times before theirs starts.
 */

/** Releases a worker slot; calling it more than once is harmless. */
export type Release = () => void

export type Admission = { admitted: true; release: Release; waitedMs: number } | { admitted: false; reason: 'queue_full' | 'aborted' }

interface Waiter {
  grant: (admission: Admission) => void
  queuedAt: number
}

export interface CapacityStats {
  workers: number
  inService: number
  queued: number
  admitted: number
  rejected: number
}

export class WorkerPool {
  private inService = 0
  private readonly waiting: Waiter[] = []
  private admittedTotal = 0
  private rejectedTotal = 0

  constructor(
    readonly workers: number,
    readonly queue: number,
  ) {}

  /**
   * Waits for a worker. Resolves at once with a rejection when the queue is full; `signal` aborting while queued
   * gives up the place in the queue (a caller that hung up does not take a worker).
   */
  acquire(signal?: AbortSignal): Promise<Admission> {
    if (this.inService < this.workers && this.waiting.length === 0) return Promise.resolve(this.grantNow(performance.now()))
    if (this.waiting.length >= this.queue) {
      this.rejectedTotal++
      return Promise.resolve({ admitted: false, reason: 'queue_full' })
    }
    return new Promise<Admission>((resolve) => {
      const waiter: Waiter = { grant: resolve, queuedAt: performance.now() }
      this.waiting.push(waiter)
      signal?.addEventListener(
        'abort',
        () => {
          const at = this.waiting.indexOf(waiter)
          if (at >= 0) {
            this.waiting.splice(at, 1)
            resolve({ admitted: false, reason: 'aborted' })
          }
        },
        { once: true },
      )
    })
  }

  /** Requests in service plus those waiting, over the workers: above 1 the service is overloaded. */
  load(): number {
    return (this.inService + this.waiting.length) / this.workers
  }

  stats(): CapacityStats {
    return { workers: this.workers, inService: this.inService, queued: this.waiting.length, admitted: this.admittedTotal, rejected: this.rejectedTotal }
  }

  private grantNow(queuedAt: number): Admission {
    this.inService++
    this.admittedTotal++
    let released = false
    const release = () => {
      if (released) return
      released = true
      this.inService--
      const next = this.waiting.shift()
      if (next !== undefined) next.grant(this.grantNow(next.queuedAt))
    }
    return { admitted: true, release, waitedMs: performance.now() - queuedAt }
  }
}
