import { hopEnded, turnEnded } from '../events.js'
import { componentLatencyUs } from '../latency.js'
import { COMPONENTS, type HopRecord, type TurnRecord } from '../types.js'
import { experiencedLatencyMs, percentile, type LiveSnapshot, type StepOutcome } from './executor.js'

/** Samples kept per step and component: enough for a stable p95, bounded so a long step cannot grow the heap. */
const MAX_SAMPLES = 50_000

interface StepView {
  components: Map<string, { latenciesMs: number[]; errors: number; hops: number }>
  turns: number
  interrupted: number
  hungUp: number
  werSum: number
  werCount: number
}

/**
 * Watches a run as it goes (hops from the proxy, turns from the callers) for the live display and the end-of-run
 * table. The analyzer reads the store; this only sees what this process saw.
 */
export class RunMonitor {
  private readonly steps = new Map<number, StepView>()
  private recent = { responseMs: [] as number[], components: new Map<string, number[]>(), errors: 0 }
  private readonly onHop = (message: unknown) => this.hop(message as HopRecord)
  private readonly onTurn = (message: unknown) => this.turn(message as TurnRecord)

  constructor(
    private readonly runId: string,
    private readonly currentStep: () => number,
  ) {
    hopEnded.subscribe(this.onHop)
    turnEnded.subscribe(this.onTurn)
  }

  dispose(): void {
    hopEnded.unsubscribe(this.onHop)
    turnEnded.unsubscribe(this.onTurn)
  }

  private view(step: number): StepView {
    let v = this.steps.get(step)
    if (v === undefined) this.steps.set(step, (v = { components: new Map(), turns: 0, interrupted: 0, hungUp: 0, werSum: 0, werCount: 0 }))
    return v
  }

  private hop(hop: HopRecord): void {
    if (hop.run_id !== this.runId) return
    const v = this.view(this.currentStep())
    let c = v.components.get(hop.component)
    if (c === undefined) v.components.set(hop.component, (c = { latenciesMs: [], errors: 0, hops: 0 }))
    c.hops++
    // a caller that talks over the agent aborts its own hops: that is the caller's doing, not a system error
    if (hop.error_kind !== '' && hop.error_kind !== 'client_abort') {
      c.errors++
      this.recent.errors++
    }
    const latency = componentLatencyUs(hop)
    if (latency !== undefined && hop.error_kind === '') {
      if (c.latenciesMs.length < MAX_SAMPLES) c.latenciesMs.push(latency / 1000)
      let r = this.recent.components.get(hop.component)
      if (r === undefined) this.recent.components.set(hop.component, (r = []))
      r.push(latency / 1000)
    }
  }

  private turn(turn: TurnRecord): void {
    if (turn.run_id !== this.runId) return
    const v = this.view(turn.step)
    v.turns++
    v.interrupted += turn.interrupted
    v.hungUp += turn.hung_up
    if (turn.transcript !== '') {
      v.werSum += turn.wer
      v.werCount++
    }
    const latency = experiencedLatencyMs(turn)
    if (latency !== undefined) this.recent.responseMs.push(latency)
  }

  /** One status line since the last call: where the run is, and p95 per component over that interval. */
  liveLine(s: LiveSnapshot): string {
    const p95 = (values: number[] | undefined) => (values === undefined || values.length === 0 ? '   -' : `${percentile(values, 95).toFixed(0)}`.padStart(4))
    const parts = [
      `${formatElapsed(s.elapsedS)}`,
      // steps are numbered from 0, as in the store and every table after the run
      s.phase === 'done' ? `step ${s.steps - 1} of 0–${s.steps - 1} done` : `step ${Math.min(s.step, s.steps - 1)} of 0–${s.steps - 1} ${s.phase} ${s.target}`,
      `active ${String(s.active).padStart(4)}`,
      `turns ${s.turns}`,
      `response p95 ${p95(this.recent.responseMs)} ms`,
      ...COMPONENTS.filter((c) => this.recent.components.has(c) || [...this.steps.values()].some((v) => v.components.has(c))).map((c) => `${c} ${p95(this.recent.components.get(c))}`),
      `errors ${this.recent.errors}`,
      `hung up ${s.hungUp}`,
    ]
    this.recent = { responseMs: [], components: new Map(), errors: 0 }
    return parts.join('  ')
  }

  /** The end-of-run table: per step, the load, the callers' experience and each component's p95. */
  summary(outcomes: readonly StepOutcome[]): { header: string[]; rows: string[][] } {
    const components = COMPONENTS.filter((c) => [...this.steps.values()].some((v) => v.components.has(c)))
    const header = ['step', 'phase', 'target', 'achieved', 'turns', 'response p95', 'success', 'interrupted', 'hung up', 'WER', ...components.map((c) => `${c} p95`), 'errors', 'generator']
    const rows = outcomes.map((o) => {
      const v = this.view(o.record.step)
      const errors = [...v.components.values()].reduce((n, c) => n + c.errors, 0)
      const pct = (n: number) => (v.turns > 0 ? `${((n / v.turns) * 100).toFixed(1)} %` : '-')
      return [
        String(o.record.step),
        o.record.phase,
        String(o.record.target_load),
        o.record.achieved_load.toFixed(1),
        String(o.turns),
        Number.isNaN(o.responseP95Ms) ? '-' : `${o.responseP95Ms.toFixed(0)} ms`,
        Number.isNaN(o.successRate) ? '-' : `${(o.successRate * 100).toFixed(1)} %`,
        pct(v.interrupted),
        pct(v.hungUp),
        v.werCount > 0 ? (v.werSum / v.werCount).toFixed(3) : '-',
        ...components.map((c) => {
          const l = v.components.get(c)?.latenciesMs ?? []
          return l.length > 0 ? `${percentile(l, 95).toFixed(0)} ms` : '-'
        }),
        String(errors),
        o.record.generator_limited === 1 ? `LIMITED (lag p99 ${o.record.generator_lag_p99_ms.toFixed(0)} ms, cpu ${(o.record.generator_cpu * 100).toFixed(0)} %)` : 'ok',
      ]
    })
    return { header, rows }
  }
}

function formatElapsed(seconds: number): string {
  const s = Math.floor(seconds)
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
}
