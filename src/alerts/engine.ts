import type { AlertsConfig } from '../config/index.js'
import { nowUs as clockNowUs } from '../clock.js'
import { hopEnded, turnEnded } from '../events.js'
import type { ResourceSample } from '../resources/index.js'
import type { HopRecord, TurnRecord } from '../types.js'
import type { AlertNotice, AlertState } from './notice.js'
import { rulesFromConfig, type Finding, type LagSource, type Rule } from './rules.js'
import type { AlertSink } from './sinks.js'

/** A row of the `alerts` table. */
export interface AlertRow {
  run_id: string
  at_us: number
  rule: string
  state: AlertState
  severity: string
  component: string
  value: number
  threshold: number
  message: string
}

interface Tracked {
  state: 'pending' | 'firing'
  since_us: number
  notified_us: number
  last: AlertNotice
}

export interface AlertStats {
  evaluations: number
  firing: number
  changes: number
  sent: number
  failed: number
  /** notifications not queued because a sink was too far behind */
  dropped: number
}

/** Notifications queued per sink at most; a sink this far behind is failing, and more would only grow memory. */
const SINK_QUEUE_MAX = 1000

/**
 * Live alerts: rules evaluated every `eval_s` over sliding windows of the hops, turns and resource samples this
 * process sees. A condition that holds is pending; after `for_s` it fires; when it stops holding it is resolved.
 * Each change is stored (`record`) and sent to every sink once, in order; a firing alert is sent again after
 * `repeat_s`. A sink that fails is counted and logged, never retried in a loop, and never slows traffic: sends run
 * off the evaluation, one queue per sink.
 */
export class AlertEngine {
  private readonly rules: Rule[]
  private readonly feeds: ReturnType<typeof rulesFromConfig>
  private readonly tracked = new Map<string, Tracked>()
  private readonly queues = new Map<AlertSink, { chain: Promise<void>; depth: number }>()
  private timer: NodeJS.Timeout | undefined
  private readonly counts: AlertStats = { evaluations: 0, firing: 0, changes: 0, sent: 0, failed: 0, dropped: 0 }
  private readonly warnedAt = new Map<string, number>()
  private readonly onHop = (m: unknown) => {
    this.feeds.latency.observeHop(m as HopRecord)
    this.feeds.errors.observeHop(m as HopRecord)
  }
  private readonly onTurn = (m: unknown) => this.feeds.success.observeTurn(m as TurnRecord)

  constructor(
    private readonly options: {
      runId: string
      config: AlertsConfig
      sinks: readonly AlertSink[]
      record: (row: AlertRow) => void
      /** callers run in this process: watch its event loop too */
      generator: boolean
      /** a proxy without callers runs in this process, named so: watch its event loop (proxy_overloaded) */
      proxy?: string
      /** the proxy's loops are elsewhere (its workers): their lag, as they report it */
      proxyLag?: LagSource
      warn?: (line: string) => void
      clockUs?: () => number
    },
  ) {
    this.feeds = rulesFromConfig(options.config, { generator: options.generator, ...(options.proxy !== undefined ? { proxy: options.proxy } : {}), ...(options.proxyLag !== undefined ? { proxyLag: options.proxyLag } : {}) })
    this.rules = [this.feeds.latency, this.feeds.errors, this.feeds.success, this.feeds.memory, ...(this.feeds.generator !== undefined ? [this.feeds.generator] : []), ...(this.feeds.proxy !== undefined ? [this.feeds.proxy] : [])]
    for (const sink of options.sinks) this.queues.set(sink, { chain: Promise.resolve(), depth: 0 })
  }

  private now(): number {
    return this.options.clockUs?.() ?? clockNowUs()
  }

  start(): void {
    hopEnded.subscribe(this.onHop)
    turnEnded.subscribe(this.onTurn)
    this.timer = setInterval(() => this.evaluate(), this.options.config.eval_s * 1000)
    this.timer.unref()
  }

  /** A resource sample (the memory slope rule reads them). */
  observeSample(row: ResourceSample): void {
    this.feeds.memory.observeSample(row.target, row.metric, row.at_us, row.value)
  }

  /** Evaluates every rule now; returns the state changes. */
  evaluate(nowUs = this.now()): AlertNotice[] {
    this.counts.evaluations++
    const changes: AlertNotice[] = []
    const seen = new Set<string>()
    for (const rule of this.rules) {
      for (const finding of rule.evaluate(nowUs)) {
        const id = `${rule.name}\u0000${finding.key}`
        seen.add(id)
        changes.push(...this.step(rule, finding, id, nowUs))
      }
    }
    // a key that no longer reports (its window emptied) no longer holds
    for (const [id, t] of [...this.tracked]) if (!seen.has(id)) changes.push(...this.clear(id, t, nowUs, `${t.last.message}; no data now`))
    const firing = this.firing()
    this.counts.firing = firing.length
    for (const [sink, queue] of this.queues) if (sink.tick !== undefined) this.enqueue(sink, queue, () => (sink.tick as NonNullable<AlertSink['tick']>)(firing, nowUs))
    return changes
  }

  private step(rule: Rule, f: Finding, id: string, nowUs: number): AlertNotice[] {
    const t = this.tracked.get(id)
    if (f.active === undefined) return []
    const notice = (state: AlertState, since: number, repeat = false): AlertNotice => ({ run_id: this.options.runId, rule: rule.name, key: f.key, state, severity: rule.severity, value: f.value, threshold: f.threshold, message: f.message, since_us: since, at_us: nowUs, repeat })
    if (!f.active) return t === undefined ? [] : this.clear(id, t, nowUs, f.message, f.value)
    const forUs = this.options.config.for_s * 1e6
    if (t === undefined) {
      const pending = notice('pending', nowUs)
      this.tracked.set(id, { state: 'pending', since_us: nowUs, notified_us: 0, last: pending })
      this.change(pending, false)
      if (forUs > 0) return [pending]
      return [pending, ...this.step(rule, f, id, nowUs)]
    }
    if (t.state === 'pending' && nowUs - t.since_us >= forUs) {
      const firing = notice('firing', t.since_us)
      Object.assign(t, { state: 'firing', notified_us: nowUs, last: firing })
      this.change(firing, true)
      return [firing]
    }
    t.last = notice(t.state, t.since_us)
    if (t.state === 'firing' && nowUs - t.notified_us >= this.options.config.repeat_s * 1e6) {
      t.notified_us = nowUs
      this.send(notice('firing', t.since_us, true))
    }
    return []
  }

  /** A pending alert that stops holding is inactive (stored, not notified); a firing one is resolved. */
  private clear(id: string, t: Tracked, nowUs: number, message: string, value = t.last.value): AlertNotice[] {
    this.tracked.delete(id)
    const ended: AlertNotice = { ...t.last, state: t.state === 'firing' ? 'resolved' : 'inactive', value, message, at_us: nowUs, repeat: false }
    this.change(ended, t.state === 'firing')
    return [ended]
  }

  private change(n: AlertNotice, notify: boolean): void {
    this.counts.changes++
    this.options.record({ run_id: n.run_id, at_us: n.at_us, rule: n.rule, state: n.state, severity: n.severity, component: n.key, value: n.value, threshold: n.threshold, message: n.message })
    if (notify) this.send(n)
  }

  private send(n: AlertNotice): void {
    for (const [sink, queue] of this.queues) this.enqueue(sink, queue, () => sink.send(n))
  }

  private enqueue(sink: AlertSink, queue: { chain: Promise<void>; depth: number }, job: () => Promise<void>): void {
    if (queue.depth >= SINK_QUEUE_MAX) {
      this.counts.dropped++
      return
    }
    queue.depth++
    queue.chain = queue.chain
      .then(job)
      .then(
        () => void this.counts.sent++,
        (err: Error) => {
          this.counts.failed++
          const last = this.warnedAt.get(sink.name) ?? 0
          if (Date.now() - last > 60_000) {
            this.warnedAt.set(sink.name, Date.now())
            ;(this.options.warn ?? ((l) => process.stderr.write(l)))(`hopwatch: warning: alert sink ${sink.name} failed: ${err.message} (counted at /_hopwatch/stats)\n`)
          }
        },
      )
      .finally(() => void queue.depth--)
  }

  /** The alerts firing now. */
  firing(): AlertNotice[] {
    return [...this.tracked.values()].filter((t) => t.state === 'firing').map((t) => t.last)
  }

  stats(): AlertStats {
    return { ...this.counts }
  }

  /**
   * Stops evaluating. What still fires is resolved ("the run ended"), so no receiver is left with an alert that
   * nothing will ever end; then every queued notification is delivered (or fails) before this returns.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    hopEnded.unsubscribe(this.onHop)
    turnEnded.unsubscribe(this.onTurn)
    this.feeds.generator?.dispose()
    this.feeds.proxy?.dispose()
    const now = this.now()
    for (const [id, t] of [...this.tracked]) this.clear(id, t, now, `${t.last.message}; the run ended`)
    await Promise.all([...this.queues.values()].map((q) => q.chain))
  }
}
