import { setMaxListeners } from 'node:events'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { nowUs } from '../clock.js'
import { stepEnded, turnEnded } from '../events.js'
import { Rng } from '../sim/random.js'
import type { Architecture, StepRecord, TurnRecord } from '../types.js'
import { poissonArrivals } from './arrivals.js'
import { busyShare, hostCpuTimes, invalidReason } from './validity.js'
import { runConversation } from './conversation.js'
import { callerAgent } from './http.js'
import { PERSONAS } from './persona.js'
import type { ProfileStep } from './profiles.js'
import type { Scenario } from './scenario.js'
import type { Credentials, Targets } from './targets.js'
import type { ConversationIo } from './turn.js'

/** A conversation starting this much after its schedule counts as late. */
const LATE_MS = 20
/** How often an extended step checks whether it has enough turns. */
const EXTENSION_POLL_MS = 200
/** An extended step runs at most this many times its planned length. */
const EXTENSION_LIMIT = 3

export interface Slo {
  response_p95_ms: number
  success_min: number
}

export interface LoadPlan {
  runId: string
  steps: readonly ProfileStep[]
  model: 'closed' | 'open'
  architecture: Architecture
  scenarios: readonly Scenario[]
  targets: Targets
  credentials: Credentials
  timeScale: number
  seed: number
  shard: { index: number; count: number }
  /** stop a ramp or stress run after the first step that breaks these */
  stopOnBreach: Slo | undefined
  /** open model: conversations in flight at most; arrivals beyond are dropped and counted */
  maxConcurrency: number
  models: ConversationIo['models']
  connectionsPerOrigin: number
  /**
   * Closed model: a step goes on past its length (up to EXTENSION_LIMIT times it) until this many of the turns
   * started in it have ended, so that each step has enough for a p95 (0: never extended)
   */
  minTurnsPerStep?: number
}

export interface StepOutcome {
  record: StepRecord
  turns: number
  responseP95Ms: number
  successRate: number
  /** which SLO this step broke, when it did */
  breach: string | undefined
}

export interface LiveSnapshot {
  elapsedS: number
  step: number
  steps: number
  phase: string
  target: number
  active: number
  turns: number
  errors: number
  hungUp: number
}

/** p-th percentile (0–100) by the nearest-rank method; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number
}

/**
 * The latency a caller experienced in a turn, in ms: to the first audio, or — when none came because they talked
 * over it, hung up or it failed — the silence they sat through (a lower bound, so slow turns are never dropped).
 */
export function experiencedLatencyMs(turn: TurnRecord): number | undefined {
  if (turn.user_end_us === 0) return undefined
  const until = turn.first_audio_us > 0 ? turn.first_audio_us : turn.end_us
  return Math.max(0, (until - turn.user_end_us) / 1000)
}

interface StepTally {
  latencies: number[]
  turns: number
  successes: number
  errors: number
  hungUp: number
  lateness: number[]
  started: number
  late: number
  dropped: number
}

const newTally = (): StepTally => ({ latencies: [], turns: 0, successes: 0, errors: 0, hungUp: 0, lateness: [], started: 0, late: 0, dropped: 0 })

/**
 * Runs a load profile: per step, a closed model keeps `target` conversations going (a caller who finishes is
 * replaced), an open model starts conversations as a Poisson process at `target` per second (time-scaled). Each
 * start's lateness against its schedule is recorded, so a stalled generator shows as lateness, not as fewer samples.
 */
export class LoadRun {
  private readonly rng: Rng
  private readonly agent
  private readonly startedUs = nowUs()
  private stepIndex = 0
  private active = 0
  private finished = false
  private readonly runAbort = new AbortController()
  /** turns by the step they started in (the step's own record), and by the step they ended in (for stop-on-breach) */
  private readonly byStart = new Map<number, StepTally>()
  private readonly byEnd = new Map<number, StepTally>()
  private sequence = 0
  private readonly running = new Set<Promise<unknown>>()
  private readonly weights: number[]
  private readonly totalWeight: number
  /** closed model */
  private desired = 0
  private readonly loops = new Set<number>()
  /** ∫ active dt over the current step, for its time-averaged achieved load */
  private activeArea = 0
  private activeSince = performance.now()
  private stopWaiting: (() => void) | undefined
  private totals = { turns: 0, errors: 0, hungUp: 0 }

  private readonly plan: LoadPlan

  constructor(plan: LoadPlan) {
    this.plan = plan
    this.rng = new Rng(plan.seed, `loadgen/${plan.shard.index}`)
    // every turn in flight listens for the end of the run
    setMaxListeners(0, this.runAbort.signal)
    this.agent = callerAgent(plan.connectionsPerOrigin)
    if (plan.architecture === 'multi-model') {
      // the agent asks its router, which picks among the LLMs
      if (plan.targets.router === undefined) throw new Error('the multi-model architecture needs an upstream with component router')
      this.plan = { ...plan, targets: { ...plan.targets, llm: plan.targets.router } }
    }
    this.weights = plan.scenarios.map((s) => s.weight)
    this.totalWeight = this.weights.reduce((a, b) => a + b, 0)
  }

  snapshot(): LiveSnapshot {
    const step = this.plan.steps[this.stepIndex]
    return { elapsedS: (nowUs() - this.startedUs) / 1e6, step: this.stepIndex, steps: this.plan.steps.length, phase: step?.phase ?? 'done', target: step?.target ?? 0, active: this.active, ...this.totals }
  }

  /** Ends the run early (after the current turns): what Ctrl-C does. */
  stop(): void {
    this.finished = true
    this.stopWaiting?.()
  }

  async run(): Promise<{ steps: StepOutcome[]; stoppedBy: string | undefined }> {
    const onTurn = (message: unknown) => this.countTurn(message as TurnRecord)
    turnEnded.subscribe(onTurn)
    const records: StepRecord[] = []
    let stoppedBy: string | undefined
    try {
      for (const step of this.plan.steps) {
        if (this.finished) break
        this.stepIndex = step.index
        const record = await this.runStep(step)
        records.push(record)
        // judged on the turns that ended during the step: the ones that started in it may still be going
        const breach = this.breachOf(this.tally(step.index, this.byEnd))
        if (breach !== undefined && this.plan.stopOnBreach !== undefined && (step.phase === 'ramp' || step.phase === 'stress')) {
          stoppedBy = `step ${step.index} (${step.target}) breached ${breach}`
          break
        }
      }
    } finally {
      this.finished = true
      this.desired = 0
      this.stepIndex = this.plan.steps.length
      // callers finish the turn they are in and hang up; a drain that outlasts the slowest patience is cut short
      const drain = Promise.allSettled([...this.running])
      const limit = new Promise((r) => setTimeout(r, 30_000).unref())
      await Promise.race([drain, limit])
      this.runAbort.abort()
      await drain
      turnEnded.unsubscribe(onTurn)
      await this.agent.close()
    }
    // every turn has ended now: each step is summed over the turns that started in it
    const steps = records.map((record) => {
      const tally = this.tally(record.step)
      return { record, turns: tally.turns, responseP95Ms: percentile(tally.latencies, 95), successRate: tally.turns > 0 ? tally.successes / tally.turns : Number.NaN, breach: this.breachOf(tally) }
    })
    return { steps, stoppedBy }
  }

  private breachOf(tally: StepTally): string | undefined {
    const slo = this.plan.stopOnBreach
    if (slo === undefined || tally.turns < 10) return undefined
    const p95 = percentile(tally.latencies, 95)
    if (p95 > slo.response_p95_ms) return `response p95 ${p95.toFixed(0)} ms > ${slo.response_p95_ms} ms`
    const success = tally.successes / tally.turns
    if (success < slo.success_min) return `success ${(success * 100).toFixed(1)} % < ${(slo.success_min * 100).toFixed(0)} %`
    return undefined
  }

  private tally(step: number, tallies = this.byStart): StepTally {
    let t = tallies.get(step)
    if (t === undefined) tallies.set(step, (t = newTally()))
    return t
  }

  private countTurn(turn: TurnRecord): void {
    if (turn.run_id !== this.plan.runId) return
    this.totals.turns++
    if (turn.error_kind !== '') this.totals.errors++
    if (turn.hung_up === 1) this.totals.hungUp++
    const latency = experiencedLatencyMs(turn)
    for (const t of [this.tally(turn.step), this.tally(Math.min(this.stepIndex, this.plan.steps.length - 1), this.byEnd)]) {
      t.turns++
      if (turn.success === 1) t.successes++
      if (turn.error_kind !== '') t.errors++
      if (turn.hung_up === 1) t.hungUp++
      if (latency !== undefined) t.latencies.push(latency)
    }
  }

  private setActive(delta: number): void {
    const now = performance.now()
    this.activeArea += this.active * (now - this.activeSince)
    this.activeSince = now
    this.active += delta
  }

  private async runStep(step: ProfileStep): Promise<StepRecord> {
    const durationMs = (step.duration_s * 1000) / this.plan.timeScale
    const startUs = nowUs()
    const lag = monitorEventLoopDelay({ resolution: 10 })
    lag.enable()
    const cpu0 = process.cpuUsage()
    const host0 = hostCpuTimes()
    const wall0 = performance.now()
    this.setActive(0)
    this.activeArea = 0
    const waitStep = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, durationMs)
      this.stopWaiting = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    if (this.plan.model === 'closed') {
      this.desired = step.target
      for (let id = 0; id < this.desired; id++) if (!this.loops.has(id)) this.startLoop(id, startUs)
      await waitStep
      await this.extend(step.index, durationMs)
    } else {
      await Promise.race([this.arrivals(step, durationMs, startUs), waitStep])
    }
    this.setActive(0)
    lag.disable()
    const wallMs = performance.now() - wall0
    const cpu = process.cpuUsage(cpu0)
    const hostCpu = busyShare(host0, hostCpuTimes())
    const tally = this.tally(step.index)
    const lagP99 = lag.percentile(99) / 1e6
    const achieved = this.activeArea / Math.max(1, wallMs)
    const latenessP99 = tally.lateness.length > 0 ? percentile(tally.lateness, 99) : 0
    const invalid = invalidReason({ model: this.plan.model, target: step.target, achieved, lagP99Ms: lagP99, latenessP99Ms: latenessP99, droppedStarts: tally.dropped, hostCpu })
    const record: StepRecord = {
      run_id: this.plan.runId,
      step: step.index,
      phase: step.phase,
      load_model: this.plan.model,
      target_load: step.target,
      achieved_load: achieved,
      start_us: startUs,
      end_us: nowUs(),
      shard: `${this.plan.shard.index + 1}/${this.plan.shard.count}`,
      started: tally.started,
      late_starts: tally.late,
      dropped_starts: tally.dropped,
      lateness_p99_ms: latenessP99,
      generator_lag_p99_ms: lagP99,
      // this process's CPU share (with the proxy and the store when they share it): reported, not judged
      generator_cpu: (cpu.user + cpu.system) / 1000 / Math.max(1, wallMs),
      generator_limited: invalid !== '' ? 1 : 0,
      invalid_reason: invalid,
      host_cpu: hostCpu ?? 0,
    }
    if (stepEnded.hasSubscribers) stepEnded.publish(record)
    return record
  }

  /** Closed model: keeps a step going until enough of its turns have ended, or it has run EXTENSION_LIMIT times its length. */
  private async extend(step: number, durationMs: number): Promise<void> {
    const wanted = this.plan.minTurnsPerStep ?? 0
    const until = performance.now() + durationMs * (EXTENSION_LIMIT - 1)
    while (!this.finished && this.tally(step).turns < wanted && performance.now() < until) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, EXTENSION_POLL_MS)
        this.stopWaiting = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  /** Closed model: one caller slot; when its conversation ends, the next starts at once, while the slot is wanted. */
  private startLoop(id: number, scheduledUs: number): void {
    this.loops.add(id)
    const loop = (async () => {
      let scheduled = scheduledUs
      while (!this.finished && id < this.desired) {
        await this.startConversation(scheduled)
        scheduled = nowUs()
      }
      this.loops.delete(id)
    })()
    this.track(loop)
  }

  /** Open model: Poisson arrivals at `target` per second of the profile (× time scale per wall second). */
  private async arrivals(step: ProfileStep, durationMs: number, startUs: number): Promise<void> {
    const schedule = poissonArrivals(this.rng, (step.target * this.plan.timeScale) / 1000, durationMs)
    const stepStart = performance.now()
    for (const dueMs of schedule) {
      if (this.finished) return
      const wait = stepStart + dueMs - performance.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      // a start that comes late is still made, and its lateness recorded: never silently skipped or shifted
      const scheduledUs = startUs + Math.round(dueMs * 1000)
      if (this.active >= this.plan.maxConcurrency) {
        this.tally(step.index).dropped++
        continue
      }
      this.track(this.startConversation(scheduledUs, step.index))
    }
  }

  private track(work: Promise<unknown>): void {
    this.running.add(work)
    void work.finally(() => this.running.delete(work))
  }

  private pickScenario(): Scenario {
    let x = this.rng.next() * this.totalWeight
    for (const [i, w] of this.weights.entries()) {
      x -= w
      if (x < 0) return this.plan.scenarios[i] as Scenario
    }
    return this.plan.scenarios[this.plan.scenarios.length - 1] as Scenario
  }

  private async startConversation(scheduledUs: number, step = this.stepIndex): Promise<void> {
    const tally = this.tally(step)
    const lateUs = Math.max(0, nowUs() - scheduledUs)
    tally.started++
    tally.lateness.push(lateUs / 1000)
    if (lateUs / 1000 > LATE_MS) tally.late++
    const scenario = this.pickScenario()
    const persona = PERSONAS[scenario.persona] ?? (PERSONAS.typical as NonNullable<(typeof PERSONAS)['typical']>)
    const seq = this.sequence++
    const conversationId = `${this.plan.runId}-${this.plan.shard.index + 1}of${this.plan.shard.count}-${seq}`
    const io: ConversationIo = {
      runId: this.plan.runId,
      conversationId,
      targets: this.plan.targets,
      credentials: this.plan.credentials,
      agent: this.agent,
      timeScale: this.plan.timeScale,
      wordsPerS: persona.words_per_s,
      tools: scenario.tools,
      models: this.plan.models,
    }
    this.setActive(1)
    try {
      await runConversation({
        io,
        architecture: this.plan.architecture,
        scenario,
        persona,
        turns: this.rng.int(scenario.min_turns, scenario.turns.length),
        lateUs,
        rng: new Rng(this.plan.seed, conversationId),
        step: () => Math.min(this.stepIndex, this.plan.steps.length - 1),
        stopping: () => this.finished,
        signal: this.runAbort.signal,
      })
    } catch (err) {
      process.stderr.write(`hopwatch load: conversation ${conversationId} failed in the generator: ${(err as Error).stack ?? String(err)}\n`)
    } finally {
      this.setActive(-1)
    }
  }
}
