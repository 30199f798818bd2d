import { nowUs } from '../clock.js'
import type { Probe } from './probe.js'

/** A row of `resource_samples`. */
export interface ResourceSample {
  run_id: string
  at_us: number
  target: string
  kind: string
  metric: string
  value: number
}

/** A target's state changed: gone for good (a process exited), down (could not be read this time), or up again. */
export interface TargetEvent {
  target: string
  kind: string
  state: 'gone' | 'down' | 'up'
  reason: string
}

/**
 * Samples every probe every `intervalMs` into rows: the probe's metrics, its limits, and `up` (1 read, 0 not). A
 * target that is gone is reported once and no longer sampled; one that cannot be read is reported when it goes
 * down and when it comes back, and tried again each time. The others go on either way. Probes are read one after
 * another, so a slow one delays the sample but never piles reads up: a sample that is still running skips a tick.
 */
export class ResourceSampler {
  private timer: NodeJS.Timeout | undefined
  private readonly live: Probe[]
  private readonly down = new Set<string>()
  private sampling: Promise<void> | undefined

  constructor(
    private readonly runId: string,
    probes: readonly Probe[],
    private readonly intervalMs: number,
    private readonly emit: (row: ResourceSample) => void,
    private readonly onEvent: (event: TargetEvent) => void = () => {},
    private readonly clockUs: () => number = nowUs,
  ) {
    this.live = [...probes]
  }

  start(): void {
    this.tick()
    this.timer = setInterval(() => this.tick(), this.intervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.sampling
  }

  private tick(): void {
    this.sampling ??= this.sampleOnce().finally(() => (this.sampling = undefined))
  }

  /** Takes one sample of every live target. */
  async sampleOnce(): Promise<void> {
    const at = this.clockUs()
    for (const probe of [...this.live]) {
      const row = (metric: string, value: number) => this.emit({ run_id: this.runId, at_us: at, target: probe.name, kind: probe.kind, metric, value })
      let values: Record<string, number> | undefined
      try {
        values = await probe.read()
      } catch (err) {
        if (!this.live.includes(probe)) continue
        row('up', 0)
        if (!this.down.has(probe.name)) {
          this.down.add(probe.name)
          this.onEvent({ target: probe.name, kind: probe.kind, state: 'down', reason: (err as Error).message })
        }
        continue
      }
      // removed while it was read (a worker told to stop, which exits as it should): nothing to say of it
      if (!this.live.includes(probe)) continue
      if (values === undefined) {
        this.live.splice(this.live.indexOf(probe), 1)
        this.onEvent({ target: probe.name, kind: probe.kind, state: 'gone', reason: probe.kind === 'nvidia_smi' ? 'nvidia-smi is not on this machine' : 'the process exited' })
        continue
      }
      if (this.down.delete(probe.name)) this.onEvent({ target: probe.name, kind: probe.kind, state: 'up', reason: 'read again' })
      row('up', 1)
      for (const [metric, value] of Object.entries(values)) row(metric, value)
      for (const [metric, value] of Object.entries(probe.limits ?? {})) row(metric, value)
    }
  }

  /** Samples a target that appeared after the start (a worker process), from the next sample on. */
  add(probe: Probe): void {
    this.live.push(probe)
  }

  /** Stops sampling a target that ended as expected (no "gone" event for it). */
  remove(name: string): void {
    const at = this.live.findIndex((p) => p.name === name)
    if (at !== -1) this.live.splice(at, 1)
  }

  /** The targets still sampled. */
  get targets(): readonly string[] {
    return this.live.map((p) => p.name)
  }
}
