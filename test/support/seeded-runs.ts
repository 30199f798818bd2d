/**
 * Recorded runs with a known truth, made again identically from a seed: a discrete-event model of the simulator's
 * capacity model (each service: `workers` serving at once, a FIFO queue behind them, log-normal service times, an
 * optional queue cap answered 429) driven by closed-model callers over a profile, written as the store's rows. The
 * analyzer's acceptance judges these in seconds, deterministically, where a live run is at the mercy of the machine.
 */
import type { Component, HopRecord, StepRecord, TurnRecord } from '../../src/types.js'
import { Rng, type Spread } from '../../src/sim/random.js'
import type { Store } from '../../src/store/index.js'

export interface ServiceModel {
  workers: number
  /** time to the judged moment (first token, first audio, final transcript; the whole call for a backend) */
  latency: Spread
  /** held after the judged moment (an LLM streaming its answer, a TTS its audio) */
  holdMs?: number
  /** requests waiting beyond this are answered 429 at once */
  queueCap?: number
}

/** A stack with room to spare at every load the tests ramp to: plant a fault by replacing one service. */
export const AMPLE_SERVICES: SeededRun['services'] = {
  stt: { workers: 200, latency: { median_ms: 150, p95_ms: 250 } },
  llm: { workers: 200, latency: { median_ms: 350, p95_ms: 600 }, holdMs: 1200 },
  tts: { workers: 200, latency: { median_ms: 150, p95_ms: 250 }, holdMs: 2000 },
  backend: { workers: 200, latency: { median_ms: 60, p95_ms: 120 } },
}

/** A ramp from 10 to 31 conversations whose LLM (6 workers) saturates, and a slow memory rise: the run the cluster test and bench analyse on one node and on a cluster. */
export function plantedLlmRamp(runId: string): SeededRun {
  return {
    runId,
    seed: 3,
    steps: [10, 13, 16, 20, 25, 31].map((load) => ({ load, phase: 'ramp', seconds: 120 })),
    services: { ...AMPLE_SERVICES, llm: { workers: 6, latency: { median_ms: 350, p95_ms: 600 }, holdMs: 1200 } },
    toolShare: 0.3,
    memory: { mbPerHour: 50, seconds: 720 },
  }
}

export interface SeededRun {
  runId: string
  seed: number
  /** closed-model load per step and each step's phase */
  steps: Array<{ load: number; phase: string; seconds: number }>
  services: Record<'stt' | 'llm' | 'tts' | 'backend', ServiceModel>
  /** word error rate: base, plus growth × the STT's queue per worker when a turn's audio arrived */
  wer?: { base: number; growth: number }
  /** a caller's speaking plus listening time per turn, and think time */
  userMs?: Spread
  /** share of turns that call a tool (LLM → backend → LLM) */
  toolShare?: number
  /** a steady memory series for the run: growth per hour (0 for none) over a GC sawtooth (none with `sawtooth: false`) */
  memory?: { mbPerHour: number; seconds: number; sawtooth?: boolean }
}

interface Pending {
  at: number
  seq: number
  run: () => void
}

/** A binary min-heap of events by time (ties in the order they were scheduled, so runs are reproducible). */
class Events {
  private readonly heap: Pending[] = []
  private seq = 0
  now = 0
  at(time: number, run: () => void): void {
    this.heap.push({ at: time, seq: this.seq++, run })
    let i = this.heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.less(parent, i)) break
      ;[this.heap[parent], this.heap[i]] = [this.heap[i] as Pending, this.heap[parent] as Pending]
      i = parent
    }
  }
  private less(a: number, b: number): boolean {
    const x = this.heap[a] as Pending
    const y = this.heap[b] as Pending
    return x.at < y.at || (x.at === y.at && x.seq < y.seq)
  }
  next(): Pending | undefined {
    const top = this.heap[0]
    const last = this.heap.pop()
    if (top === undefined || last === undefined) return undefined
    if (this.heap.length > 0) {
      this.heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < this.heap.length && this.less(l, m)) m = l
        if (r < this.heap.length && this.less(r, m)) m = r
        if (m === i) break
        ;[this.heap[m], this.heap[i]] = [this.heap[i] as Pending, this.heap[m] as Pending]
        i = m
      }
    }
    this.now = top.at
    return top
  }
}

/** One service: workers and a FIFO queue; `call` calls back at the judged moment with it and the end, or at once with a rejection. */
class Service {
  private busy = 0
  private readonly queue: Array<() => void> = []
  constructor(private readonly events: Events, private readonly model: ServiceModel, private readonly rng: Rng) {}
  get waiting(): number {
    return this.queue.length
  }
  call(done: (moment: number | undefined, end: number) => void): void {
    if (this.model.queueCap !== undefined && this.busy >= this.model.workers && this.queue.length >= this.model.queueCap) {
      done(undefined, this.events.now)
      return
    }
    const serve = () => {
      this.busy++
      const moment = this.events.now + this.rng.latencyMs(this.model.latency)
      const end = moment + (this.model.holdMs ?? 0)
      // the caller goes on at the judged moment (the first sentence goes to TTS); the worker stays busy until the end
      this.events.at(moment, () => done(moment, end))
      this.events.at(end, () => {
        this.busy--
        this.queue.shift()?.()
      })
    }
    if (this.busy < this.model.workers) serve()
    else this.queue.push(serve)
  }
}

export interface SeededRows {
  hops: HopRecord[]
  turns: TurnRecord[]
  steps: StepRecord[]
  resources: Array<{ run_id: string; at_us: number; target: string; kind: string; metric: string; value: number }>
}

const T0_US = 1_800_000_000_000_000

/** Runs the model and returns the rows a recorded run of it would have in the store. */
export function seededRun(spec: SeededRun): SeededRows {
  const rng = new Rng(spec.seed, `seeded/${spec.runId}`)
  const events = new Events()
  const services = Object.fromEntries(Object.entries(spec.services).map(([name, m]) => [name, new Service(events, m, new Rng(spec.seed, `${spec.runId}/${name}`))])) as Record<keyof SeededRun['services'], Service>
  const rows: SeededRows = { hops: [], turns: [], steps: [], resources: [] }
  const us = (ms: number) => T0_US + Math.round(ms * 1000)
  const starts = spec.steps.reduce<number[]>((acc, s, i) => [...acc, (acc[i] ?? 0) + s.seconds * 1000], [0])
  let stepIndex = 0
  let desired = 0
  let active = 0
  let conversations = 0
  const startedIn = new Map<number, number>()
  const hop = (conversation: string, turn: number, component: Component, start: number, moment: number | undefined, end: number, extra: Partial<HopRecord> = {}): void => {
    const judged = moment === undefined ? 0 : us(moment)
    rows.hops.push({
      run_id: spec.runId, conversation_id: conversation, turn, hop_id: `${conversation}/${turn}/${rows.hops.length}`, component, upstream: component, instance: 'model', proxy: 'model', adapter: 'model', transport: 'http', method: 'POST', route: '/', model: '',
      start_us: us(start), request_end_us: us(start), response_start_us: judged, first_byte_us: judged,
      first_payload_us: component === 'llm' || component === 'tts' ? judged : 0, final_us: component === 'stt' ? judged : 0, end_us: us(end),
      status: moment === undefined ? 429 : 200, error_kind: moment === undefined ? 'rate_limited' : '', bytes_in: 0, bytes_out: 0, tokens_in: 0, tokens_out: 0, audio_ms: 0, in_flight: 0, trace_id: '', parent_span_id: '', auxiliary: 0, ...extra,
    })
  }
  const conversation = (): void => {
    const id = `${spec.runId}-${conversations++}`
    startedIn.set(stepIndex, (startedIn.get(stepIndex) ?? 0) + 1)
    active++
    const turns = rng.int(3, 7)
    const turn = (n: number): void => {
      if (n > turns || active > desired || stepIndex >= spec.steps.length) {
        active--
        if (active < desired && stepIndex < spec.steps.length) conversation()
        return
      }
      const step = stepIndex
      const userStart = events.now
      const userEnd = userStart + rng.latencyMs(spec.userMs ?? { median_ms: 3000, p95_ms: 5000 })
      events.at(userEnd, () => {
        const sttWaiting = services.stt.waiting
        services.stt.call((final, sttEnd) => {
          hop(id, n, 'stt', userEnd, final, sttEnd)
          const wer = Math.min(1, (spec.wer?.base ?? 0.02) + (spec.wer?.growth ?? 0) * (sttWaiting / spec.services.stt.workers))
          const finish = (firstAudio: number | undefined, errorKind: string): void => {
            const end = (firstAudio ?? events.now) + 2500
            rows.turns.push({
              run_id: spec.runId, conversation_id: id, turn: n, scenario: 'model', step, architecture: 'cascaded', user_start_us: us(userStart), user_end_us: us(userEnd),
              first_audio_us: firstAudio === undefined ? 0 : us(firstAudio), end_us: us(end), success: errorKind === '' ? 1 : 0, interrupted: 0, hung_up: 0, wer, error_kind: errorKind, hop_count: 3,
              late_us: 0, persona: 'typical', transcript: 'model',
            })
            events.at(end + rng.latencyMs({ median_ms: 1500, p95_ms: 3000 }), () => turn(n + 1))
          }
          const llmStart = events.now
          services.llm.call((ttft, llmEnd) => {
            hop(id, n, 'llm', llmStart, ttft, llmEnd)
            if (ttft === undefined) return finish(undefined, 'llm_rate_limited')
            const speak = (): void => {
              const ttsStart = events.now
              services.tts.call((ttfb, ttsEnd) => {
                hop(id, n, 'tts', ttsStart, ttfb, ttsEnd)
                finish(ttfb, ttfb === undefined ? 'tts_rate_limited' : '')
              })
            }
            if (rng.next() >= (spec.toolShare ?? 0.3)) return speak()
            const backendStart = events.now
            services.backend.call((done, backendEnd) => {
              hop(id, n, 'backend', backendStart, done, backendEnd, { end_us: us(done ?? backendEnd) })
              if (done === undefined) return finish(undefined, 'backend_rate_limited')
              const again = events.now
              services.llm.call((ttft2, end2) => {
                hop(id, n, 'llm', again, ttft2, end2)
                if (ttft2 === undefined) return finish(undefined, 'llm_rate_limited')
                speak()
              })
            })
          })
        })
      })
    }
    turn(1)
  }
  spec.steps.forEach((s, i) =>
    events.at(starts[i] as number, () => {
      stepIndex = i
      desired = s.load
      for (let k = active; k < desired; k++) conversation()
    }),
  )
  events.at(starts[spec.steps.length] as number, () => {
    stepIndex = spec.steps.length
    desired = 0
  })
  for (let e = events.next(); e !== undefined; e = events.next()) e.run()
  spec.steps.forEach((s, i) =>
    rows.steps.push({
      run_id: spec.runId, step: i, phase: s.phase, load_model: 'closed', target_load: s.load, achieved_load: s.load, start_us: us(starts[i] as number), end_us: us(starts[i + 1] as number),
      shard: '1/1', started: startedIn.get(i) ?? 0, late_starts: 0, dropped_starts: 0, lateness_p99_ms: 0, generator_lag_p99_ms: 5, generator_cpu: 0.3, generator_limited: 0, invalid_reason: '', host_cpu: 0.5,
    }),
  )
  if (spec.memory !== undefined) {
    for (let t = 0; t <= spec.memory.seconds; t += 5) {
      // a GC sawtooth of 30 MB every 40 s over a 300 MB floor, plus the planted growth and a little noise
      const mb = 300 + (spec.memory.mbPerHour * t) / 3600 + (spec.memory.sawtooth === false ? 0 : (t % 40) * 0.75) + rng.next() * 2
      rows.resources.push({ run_id: spec.runId, at_us: us(t * 1000), target: 'agent', kind: 'process', metric: 'rss_bytes', value: Math.round(mb * 1024 * 1024) })
      // and what a process sampler reads beside it: half a core busy, a steady set of fds and threads
      for (const [metric, value] of [['cpu_seconds', t * 0.5], ['open_fds', 40 + (t % 10 === 0 ? 1 : 0)], ['threads', 12]] as const) {
        rows.resources.push({ run_id: spec.runId, at_us: us(t * 1000), target: 'agent', kind: 'process', metric, value })
      }
    }
  }
  withLoadFigures(rows.hops)
  return rows
}

/**
 * What a proxy would have seen besides the moments: each hop's component calls in flight when it started (a sweep
 * over starts and ends), an LLM's tokens (50 a second while it streams) and a TTS's audio (1.5 s per second of work).
 */
function withLoadFigures(hops: HopRecord[]): void {
  const byComponent = new Map<string, HopRecord[]>()
  for (const h of hops) {
    const list = byComponent.get(h.component)
    if (list === undefined) byComponent.set(h.component, [h])
    else list.push(h)
  }
  for (const list of byComponent.values()) {
    const ends = list.map((h) => h.end_us).sort((a, b) => a - b)
    let ended = 0
    for (const [i, h] of [...list].sort((a, b) => a.start_us - b.start_us).entries()) {
      while (ended < ends.length && (ends[ended] as number) <= h.start_us) ended++
      h.in_flight = i - ended
    }
  }
  for (const h of hops) {
    if (h.component === 'llm' && h.first_payload_us > 0) h.tokens_out = Math.round(((h.end_us - h.first_payload_us) / 1e6) * 50)
    if (h.component === 'tts' && h.first_payload_us > 0) h.audio_ms = Math.round(((h.end_us - h.start_us) / 1000) * 1.5)
  }
}

/** Writes a seeded run's rows (and its runs row) into a store's `hopwatch` database; returns the rows. */
export async function storeSeededRun(store: Store, spec: SeededRun, config: object = {}): Promise<SeededRows> {
  const rows = seededRun(spec)
  for (const [table, values] of [['hops', rows.hops], ['turns', rows.turns], ['steps', rows.steps], ['resource_samples', rows.resources]] as const) {
    if (values.length > 0) await store.client.insert({ table: `hopwatch.${table}`, values: values as unknown as Array<Record<string, unknown>>, format: 'JSONEachRow' })
  }
  const first = rows.steps[0]?.start_us ?? 0
  const last = Math.max(0, ...rows.steps.map((s) => s.end_us))
  await store.client.insert({ table: 'hopwatch.runs', values: [{ run_id: spec.runId, name: spec.runId, source: 'test', started_us: first, ended_us: last, hopwatch_version: 'test', config_json: JSON.stringify(config), updated_us: first }], format: 'JSONEachRow' })
  return rows
}

/** A live alert on the run's LLM that fired at `atUs` and resolved `forUs` later, as the live rules record one. */
export async function storeFiredAlert(store: Store, runId: string, atUs: number, forUs: number): Promise<void> {
  const alert = { run_id: runId, rule: 'component_p95', severity: 'warning', component: 'llm', threshold: 1500 }
  await store.client.insert({
    table: 'hopwatch.alerts',
    values: [
      { ...alert, at_us: atUs, state: 'firing', value: 1900, message: 'llm p95 1900 ms > 1500 ms' },
      { ...alert, at_us: atUs + forUs, state: 'resolved', value: 900, message: 'llm p95 back under 1500 ms' },
    ],
    format: 'JSONEachRow',
  })
}
