import { hopEnded } from '../events.js'
import type { HopRecord } from '../types.js'
import type { InFlightSnapshot } from './upstream.js'

/** What a proxy worker sends its store owner: the hops that ended, its in-flight hops, and what it could not keep. */
export interface HopBatch {
  t: 'hops'
  hops: HopRecord[]
  inFlight: InFlightSnapshot
  /** hops ended since the last batch that did not fit the worker's bound while the owner was behind */
  dropped: number
}

export interface HandOverOptions {
  /** hops held in the worker, queued or on their way, before new ones are dropped and counted */
  maxHops: number
  /** how often what ended is sent (and the in-flight snapshot with it) */
  intervalMs: number
  /** hops per message at most */
  batchHops: number
}

/**
 * The worker's side of `hopwatch proxy --workers N`: every hop that ends here is queued and sent, in batches, to the
 * process that owns the store (the cluster's primary), which publishes it there as if it had ended there. The proxy
 * thread only stamps moments; serialising and inserting rows happen elsewhere. Memory is bounded: hops that are
 * neither sent nor acknowledged by the pipe count against `maxHops`, and hops beyond it are dropped and counted.
 */
export class HopHandOver {
  private queue: HopRecord[] = []
  /** hops handed to the pipe whose write has not yet completed, and those writes */
  private inPipe = 0
  private readonly writing = new Set<Promise<void>>()
  private dropped = 0
  private timer: NodeJS.Timeout | undefined
  private readonly listener = (message: unknown) => this.add(message as HopRecord)

  constructor(
    /** process.send in a cluster worker: the callback runs once the message is written (or failed) */
    private readonly send: (message: HopBatch, done: (err: Error | null) => void) => void,
    private readonly inFlight: () => InFlightSnapshot,
    private readonly options: HandOverOptions,
  ) {}

  start(): void {
    hopEnded.subscribe(this.listener)
    this.timer = setInterval(() => this.sendQueued(), this.options.intervalMs)
    this.timer.unref()
  }

  /** Sends what is queued; resolves when every message sent so far is written to the pipe (or failed). */
  async flush(): Promise<void> {
    this.sendQueued()
    await Promise.all(this.writing)
  }

  /** Stops taking hops and sends the rest. */
  async stop(): Promise<void> {
    hopEnded.unsubscribe(this.listener)
    if (this.timer !== undefined) clearInterval(this.timer)
    await this.flush()
  }

  get stats(): { queued: number; inPipe: number; dropped: number } {
    return { queued: this.queue.length, inPipe: this.inPipe, dropped: this.dropped }
  }

  private add(hop: HopRecord): void {
    if (this.queue.length + this.inPipe >= this.options.maxHops) {
      this.dropped++
      return
    }
    this.queue.push(hop)
    if (this.queue.length >= this.options.batchHops) this.sendQueued()
  }

  /** One message per `batchHops` hops, and one even when nothing ended: the in-flight snapshot goes with each. */
  private sendQueued(): void {
    const inFlight = this.inFlight()
    do {
      const hops = this.queue.splice(0, this.options.batchHops)
      const dropped = this.dropped
      this.dropped = 0
      this.inPipe += hops.length
      let resolve = () => {}
      const written = new Promise<void>((r) => (resolve = r))
      this.writing.add(written)
      this.send({ t: 'hops', hops, inFlight, dropped }, (err) => {
        this.inPipe -= hops.length
        // the owner is gone (the primary exited): these hops cannot reach a store any more
        if (err !== null) this.dropped += hops.length + dropped
        this.writing.delete(written)
        resolve()
      })
    } while (this.queue.length > 0)
  }
}

/** The owner's side: publishes a worker's hops on `hopwatch:hop:end`, where the writer, metrics, alerts and traces take them. */
export function publishHops(batch: HopBatch): void {
  if (!hopEnded.hasSubscribers) return
  for (const hop of batch.hops) hopEnded.publish(hop)
}
