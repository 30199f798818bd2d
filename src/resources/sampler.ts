import { readProcess } from './process.js'

/** A row of `resource_samples`. */
export interface ResourceSample {
  run_id: string
  at_us: number
  target: string
  kind: string
  metric: string
  value: number
}

export interface ProcessTarget {
  name: string
  pid: number
}

/**
 * Samples processes every `intervalMs` into rows (rss_bytes, cpu_seconds, open_fds, threads per target). A target
 * that vanishes is reported once through `onGone` and no longer sampled; the others go on.
 */
export class ProcessSampler {
  private timer: NodeJS.Timeout | undefined
  private readonly live: ProcessTarget[]
  private sampling: Promise<void> | undefined

  constructor(
    private readonly runId: string,
    targets: readonly ProcessTarget[],
    private readonly intervalMs: number,
    private readonly emit: (row: ResourceSample) => void,
    private readonly onGone: (target: ProcessTarget) => void = () => {},
    private readonly clockUs: () => number = () => Math.round((performance.timeOrigin + performance.now()) * 1000),
  ) {
    this.live = [...targets]
  }

  start(): void {
    this.timer = setInterval(() => {
      this.sampling ??= this.sampleOnce().finally(() => (this.sampling = undefined))
    }, this.intervalMs)
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.sampling
  }

  /** Takes one sample of every live target. */
  async sampleOnce(): Promise<void> {
    const at = this.clockUs()
    for (const target of [...this.live]) {
      const reading = await readProcess(target.pid)
      if (reading === undefined) {
        this.live.splice(this.live.indexOf(target), 1)
        this.onGone(target)
        continue
      }
      for (const [metric, value] of Object.entries(reading)) this.emit({ run_id: this.runId, at_us: at, target: target.name, kind: 'process', metric, value })
    }
  }

  get targets(): readonly ProcessTarget[] {
    return this.live
  }
}
