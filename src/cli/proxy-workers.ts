import cluster, { type Worker } from 'node:cluster'
import type { HopwatchConfig } from '../config/index.js'
import { HopHandOver, inFlightOf, ProxyError, publishHops, startAdmin, startProxy, upstreamDns, type HopBatch, type InFlightSnapshot, type RunningAdmin, type RunningProxy } from '../proxy/index.js'
import { ownLoopLag } from '../alerts/index.js'
import type { DnsCounts } from '../telemetry/index.js'
import { ReceiverBusyError, type OtlpSpan, type ReceiverGuard, type ReceiverStats } from '../telemetry/otlp/index.js'
import { workerReceiverFor } from './telemetry.js'

/**
 * `hopwatch proxy --workers N`: N processes serve the proxy's ports (node:cluster shares each listening socket among
 * them), and the process that started them owns the store. A worker only forwards and stamps; each hop that ends is
 * handed to the owner (src/proxy/worker-hops.ts), which publishes it where its writer, metrics, alerts and trace
 * exporter listen, as if it had ended there. The owner serves the admin API; the workers' /metrics asks it. An
 * agent's spans sent to /v1/traces are read by the worker that takes the request and joined by the owner.
 */

/** The environment variable that carries the run to the workers (their hops belong to the owner's run). */
const RUN_ENV = 'HOPWATCH_WORKER_RUN_ID'
/** How long a worker has to drain its hops and hand them over after it is told to stop. */
const WORKER_STOP_MS = 20_000
/** How often a worker hands its ended hops over. */
const HAND_OVER_MS = 100
/** How long a fence waits for a worker that does not answer (stalled): what it still holds comes later. */
const FENCE_MS = 2000
/** Spans a worker holds on their way to the owner; past it the body that brings more is refused (503, counted as busy). */
const MAX_SPANS_IN_PIPE = 20_000
/** A worker that dies is started again, but not more often than this. */
const RESTART_DELAY_MS = 1000

/**
 * Every worker accepts on the shared listening socket itself, and the kernel gives each new connection to one of them
 * (node:cluster's SCHED_NONE), unless NODE_CLUSTER_SCHED_POLICY says otherwise. With node:cluster's default on Linux,
 * round robin, the owner accepts every connection and passes it to a worker; one passed to a worker at the moment it
 * dies was never answered, and the caller waited for its own timeout (once in each of three runs of 20 callers opening
 * connection after connection, one worker killed). Here the connections the dead worker held are reset with it, and
 * those still queued go to the others. The owner is off the accept path too: SSE time to first event at 1,000 streams,
 * p99 added, 405 ms against 801, and saturation 1.15 × (workers.bench.ts, --workers 2, stop 27). Under load the
 * kernel's split was even (1,209 and 1,200 connections; 845 and 881).
 */
function acceptInEachWorker(): void {
  if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE
}

/** What a worker's OTLP receiver counted so far (its own requests, spans, refusals). */
type ReceiverCounts = ReceiverStats & Partial<ReceiverGuard['stats']>
type ToOwner =
  | HopBatch
  | { t: 'ready'; url: string; upstreamUrls: Array<[string, string]> }
  | { t: 'metrics?'; id: number }
  | { t: 'lag'; p99Ms: number }
  | { t: 'spans'; spans: OtlpSpan[] }
  | { t: 'receiver'; counts: ReceiverCounts }
  | { t: 'dns'; counts: DnsCounts }
  | { t: 'fenced'; id: number }
type ToWorker = { t: 'stop' } | { t: 'metrics'; id: number; contentType: string; text: string } | { t: 'fence'; id: number }

export const isProxyWorker = (): boolean => cluster.isWorker && process.env[RUN_ENV] !== undefined

interface SeenWorker {
  pid: number
  /** it listens now */
  running: boolean
  /** hops it handed over */
  hops: number
  inFlight: InFlightSnapshot
  /** its event-loop lag p99 over its latest window (it reports every alerts.eval_s) */
  lagP99Ms: number
  /** what its OTLP receiver counted so far */
  received: ReceiverCounts | undefined
  /** its upstream name cache's counts so far */
  dns: DnsCounts | undefined
}

/** The owner's side: the workers, the hops they hand over, and their in-flight hops summed. */
export class ProxyWorkers {
  /**
   * Each worker by cluster id, as it last reported; one that exited stays listed, not running: its hops and receiver
   * counts happened, its in-flight hops and lag no longer count
   */
  private readonly seen = new Map<number, SeenWorker>()
  /** fences in flight: the workers each still waits for, and what ends it */
  private readonly fences = new Map<number, { waiting: Set<number>; end: () => void }>()
  private nextFence = 0
  /** the workers' spans that wait for the next fence, and those behind the fence that is out */
  private spansWaiting: OtlpSpan[][] = []
  private spansFenced: OtlpSpan[][] = []
  private fencing = false
  private stopping = false
  private first: { url: string; upstreamUrls: Map<string, string> } | undefined

  private constructor(
    private readonly handlers: {
      lost: (hops: number) => void
      metrics: () => Promise<{ contentType: string; text: string }>
      warn: (line: string) => void
      /**
       * spans a worker's OTLP receiver took, once every worker has handed over the hops that ended before they came (a
       * span read by one worker can describe a hop another timed): the owner's assembler joins them with those hops
       */
      spans?: (spans: OtlpSpan[]) => void
      /** a worker listens now, and when it has exited (to sample its process, and stop) */
      started?: (pid: number) => void
      exited?: (pid: number) => void
    },
  ) {}

  /**
   * Starts `count` workers running this same command line; resolves once every one listens. If one cannot (its port
   * is taken), the others are stopped too and the error is thrown: no worker is left serving.
   */
  static async start(count: number, runId: string, handlers: ProxyWorkers['handlers']): Promise<ProxyWorkers> {
    const pool = new ProxyWorkers(handlers)
    acceptInEachWorker() // before the first fork: node:cluster fixes its policy then
    const started = await Promise.allSettled(Array.from({ length: count }, () => pool.fork(runId)))
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected')
    if (failed !== undefined) {
      await pool.stop()
      throw failed.reason
    }
    return pool
  }

  /** The main URL and each upstream's URL, as the workers listen on them (the same sockets in every worker). */
  get urls(): { url: string; upstreamUrls: Map<string, string> } {
    if (this.first === undefined) throw new Error('no worker is listening')
    return this.first
  }

  /** Every worker's in-flight hops, summed per upstream and component. */
  inFlightHops(): InFlightSnapshot {
    const sum = new Map<string, InFlightSnapshot[number]>()
    for (const w of this.seen.values()) {
      if (!w.running) continue
      for (const s of w.inFlight) {
        const key = `${s.name}\u0000${s.component}`
        const seen = sum.get(key)
        if (seen === undefined) sum.set(key, { ...s })
        else seen.inFlight += s.inFlight
      }
    }
    return [...sum.values()]
  }

  /** Each worker's pid, whether it listens, and the hops it handed over. */
  workers(): Array<{ pid: number; hops: number; running: boolean }> {
    return [...this.seen.values()].map(({ pid, hops, running }) => ({ pid, hops, running }))
  }

  /**
   * The busiest worker's event-loop lag p99 over its latest window (proxy_overloaded). A window is kept until the
   * next replaces it, so a report that lands just after an evaluation counts at the next one: at most one window late.
   */
  lagP99Ms(): number {
    return Math.max(0, ...[...this.seen.values()].filter((w) => w.running).map((w) => w.lagP99Ms))
  }

  /** Every worker's receiver counts added to `own` (the owner's: the spans it failed to join), key by key. */
  receiverCounts<T extends Record<string, number>>(own: T): T {
    return this.summed(own, (w) => w.received)
  }

  /** Every worker's upstream name cache counts, summed (a worker that exited keeps its last). */
  dnsCounts(): DnsCounts {
    return this.summed({ asked: 0, resolved: 0, failed: 0 }, (w) => w.dns)
  }

  /** `start` plus what each worker reported, key by key. */
  private summed<T extends object>(start: T, of: (w: SeenWorker) => object | undefined): T {
    const sum: Record<string, number> = { ...(start as Record<string, number>) }
    for (const w of this.seen.values()) for (const [key, n] of Object.entries(of(w) ?? {}) as Array<[string, number]>) sum[key] = (sum[key] ?? 0) + n
    return sum as T
  }

  /** Spans from a worker go to `handlers.spans` behind a fence: one fence for all that came while the last was out. */
  private takeSpans(spans: OtlpSpan[]): void {
    this.spansWaiting.push(spans)
    if (this.fencing) return
    this.fencing = true
    void (async () => {
      while (this.spansWaiting.length > 0) {
        this.spansFenced = this.spansWaiting.splice(0)
        await this.fence()
        this.deliverSpans(this.spansFenced.splice(0))
      }
      this.fencing = false
    })()
  }

  private deliverSpans(batches: OtlpSpan[][]): void {
    for (const spans of batches) this.handlers.spans?.(spans)
  }

  /**
   * Resolves once every running worker has handed over each hop that ended in it before now: each is asked to send
   * what it holds and to answer after it, on the same ordered channel. A span read by one worker can describe a hop
   * another timed; behind a fence, that hop has come. A worker that exits counts as answered; one that does not
   * answer within FENCE_MS (stalled) is not waited for any longer.
   */
  private fence(): Promise<void> {
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && this.seen.get(w.id)?.running === true)
    if (workers.length === 0) return Promise.resolve()
    const id = this.nextFence++
    return new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(timer)
        this.fences.delete(id)
        resolve()
      }
      const timer = setTimeout(end, FENCE_MS)
      this.fences.set(id, { waiting: new Set(workers.map((w) => w.id)), end })
      for (const w of workers) if (w.isConnected()) w.send({ t: 'fence', id } satisfies ToWorker)
    })
  }

  /** A worker answered a fence, or exited: the fences it held up may end. */
  private passed(workerId: number, fenceId?: number): void {
    for (const [id, fence] of this.fences) {
      if (fenceId !== undefined && id !== fenceId) continue
      fence.waiting.delete(workerId)
      if (fence.waiting.size === 0) fence.end()
    }
  }

  /**
   * Tells every worker to stop (each lets its in-flight hops finish and hands them over); resolves when all exited,
   * after the spans that still waited for a fence went on, to be joined with the hops there are.
   */
  async stop(): Promise<void> {
    this.stopping = true
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined)
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve()
            // one still starting may not listen for messages yet; it holds no hops: SIGTERM stops it either way
            const starting = this.seen.get(w.id)?.running !== true
            const timer = setTimeout(() => {
              this.handlers.warn(`hopwatch: proxy worker ${w.process.pid} did not stop within ${WORKER_STOP_MS / 1000} s; killed (the hops it still held are lost)\n`)
              w.process.kill('SIGKILL')
            }, WORKER_STOP_MS)
            w.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            if (starting) w.process.kill('SIGTERM')
            else w.send({ t: 'stop' } satisfies ToWorker)
          }),
      ),
    )
    this.deliverSpans([...this.spansFenced.splice(0), ...this.spansWaiting.splice(0)])
  }

  private fork(runId: string): Promise<void> {
    const worker = cluster.fork({ [RUN_ENV]: runId })
    const seen: SeenWorker = { pid: worker.process.pid ?? 0, running: false, hops: 0, inFlight: [], lagP99Ms: 0, received: undefined, dns: undefined }
    this.seen.set(worker.id, seen)
    return new Promise<void>((resolve, reject) => {
      let ready = false
      worker.on('message', (m: ToOwner) => {
        if (m.t === 'hops') {
          publishHops(m)
          seen.hops += m.hops.length
          seen.inFlight = m.inFlight
          if (m.dropped > 0) this.handlers.lost(m.dropped)
        } else if (m.t === 'spans') {
          this.takeSpans(m.spans)
        } else if (m.t === 'fenced') {
          this.passed(worker.id, m.id)
        } else if (m.t === 'receiver') {
          seen.received = m.counts
        } else if (m.t === 'dns') {
          seen.dns = m.counts
        } else if (m.t === 'lag') {
          seen.lagP99Ms = m.p99Ms
        } else if (m.t === 'metrics?') {
          void this.handlers.metrics().then((r) => worker.isConnected() && worker.send({ t: 'metrics', id: m.id, ...r } satisfies ToWorker))
        } else if (m.t === 'ready') {
          this.first ??= { url: m.url, upstreamUrls: new Map(m.upstreamUrls) }
          ready = true
          seen.running = true
          this.handlers.started?.(seen.pid)
          resolve()
        }
      })
      worker.once('exit', (code, signal) => {
        if (seen.running) this.handlers.exited?.(seen.pid)
        seen.running = false
        this.passed(worker.id)
        if (!ready) return reject(new ProxyError('HW_PROXY_LISTEN', `a proxy worker exited (${signal ?? `code ${code}`}) before it was listening; its error is above`))
        if (this.stopping) return
        // the hops it held are lost with it (the pipe may still have delivered some): say so, and serve on
        this.handlers.warn(`hopwatch: warning: proxy worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); the hops it had in flight are lost; starting another\n`)
        setTimeout(() => {
          if (!this.stopping) this.fork(runId).catch((err: Error) => this.handlers.warn(`hopwatch: warning: ${err.message}\n`))
        }, RESTART_DELAY_MS).unref()
      })
    })
  }
}

/**
 * A worker's life: serve the proxy's ports without an admin listener, hand every hop over, and stop when the owner
 * says so (or goes away). A terminal's Ctrl-C reaches every process of its group: the worker leaves that to the owner,
 * which stops the workers in order.
 */
export async function runProxyWorker(config: HopwatchConfig): Promise<number> {
  const runId = process.env[RUN_ENV] as string
  const send = (m: ToOwner, done?: (err: Error | null) => void) => process.send?.(m, undefined, undefined, done)
  let proxy: RunningProxy | undefined
  const handOver = new HopHandOver((m, done) => send(m, done), () => inFlightOf(proxy?.upstreams ?? []), { maxHops: config.store.queue_rows, intervalMs: HAND_OVER_MS, batchHops: 512 })
  const asked = new Map<number, (r: { contentType: string; text: string }) => void>()
  let nextId = 0
  const stopped = new Promise<void>((resolve) => {
    process.on('SIGINT', () => {})
    process.once('SIGTERM', () => resolve())
    process.once('disconnect', () => resolve())
    process.on('message', (m: ToWorker) => {
      if (m.t === 'stop') resolve()
      else if (m.t === 'metrics') asked.get(m.id)?.({ contentType: m.contentType, text: m.text })
      else if (m.t === 'fence') {
        // what is queued goes first, then the answer, on the same ordered channel
        void handOver.flush()
        send({ t: 'fenced', id: m.id })
      }
    })
  })
  handOver.start()
  // the owner's proxy_overloaded rule watches the workers' loops through what they report
  const lag = ownLoopLag()
  const lagTimer = setInterval(() => send({ t: 'lag', p99Ms: lag.takeP99Ms() }), config.alerts.eval_s * 1000)
  lagTimer.unref()
  // an agent's spans: read and checked here, joined with the hops by the owner. While the owner is behind, a body is
  // answered 503 with Retry-After (the sender retries) rather than held without bound
  let spansInPipe = 0
  const receiving = workerReceiverFor(config, (spans) => {
    if (spansInPipe + spans.length > MAX_SPANS_IN_PIPE) throw new ReceiverBusyError(`the store owner is behind: ${spansInPipe} spans wait for it`)
    spansInPipe += spans.length
    send({ t: 'spans', spans }, () => (spansInPipe -= spans.length))
  })
  const reportCounts = () => {
    if (receiving !== undefined) send({ t: 'receiver', counts: { ...receiving.receiver.stats, ...receiving.guard?.stats } })
    send({ t: 'dns', counts: upstreamDns.counts() })
  }
  const countsTimer = setInterval(reportCounts, 1000)
  countsTimer.unref()
  const quit = async () => {
    clearInterval(countsTimer)
    clearInterval(lagTimer)
    lag.dispose?.()
    await handOver.stop()
    // the channel to the owner is what keeps a worker alive: without it the process ends
    process.disconnect?.()
  }
  proxy = await startProxy({
    config,
    runId,
    ...(receiving !== undefined ? { otlp: receiving.receiver } : {}),
    adminApi: false,
    admin: {
      metrics: () =>
        new Promise((resolve, reject) => {
          const id = nextId++
          const timer = setTimeout(() => {
            asked.delete(id)
            reject(new Error('the store owner did not answer for /metrics'))
          }, 5000)
          asked.set(id, (r) => {
            clearTimeout(timer)
            asked.delete(id)
            resolve(r)
          })
          send({ t: 'metrics?', id })
        }),
    },
  }).catch(async (err: unknown) => {
    // it cannot listen (a port taken): the error is printed by the CLI, the owner sees this worker exit
    await quit()
    throw err
  })
  send({ t: 'ready', url: proxy.url, upstreamUrls: [...proxy.upstreamUrls] })
  await stopped
  await proxy.close()
  reportCounts()
  await quit()
  return 0
}

/** The owner's admin API, on its own listener as in one process. */
export function ownerAdmin(config: HopwatchConfig, hooks: Parameters<typeof startAdmin>[0]): Promise<RunningAdmin> {
  return startAdmin(hooks, { host: config.proxy.admin_host, port: config.proxy.admin_port, allowRemote: config.proxy.admin_remote })
}
