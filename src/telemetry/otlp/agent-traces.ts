import type { IncomingMessage, ServerResponse } from 'node:http'
import { hopEnded } from '../../events.js'
import type { HopRecord } from '../../types.js'
import { AgentSpanAssembler, RecentHops, type AssemblerOptions } from './assembler.js'
import type { GuardOptions, ReceiverGuard } from './guard.js'
import { guardedReceiver, type OtlpReceiver, type ReceiverStats } from './receiver.js'

export interface AgentTracesOptions {
  runId: string
  maxBodyBytes: number
  /** bytes all bodies in progress may hold together (default four bodies' worth) */
  maxPendingBytes?: number
  holdS: number
  keepContent: boolean
  recordTurns: boolean
  row: AssemblerOptions['row']
  /** token and per-source rates (the body limit is maxBodyBytes) */
  guard?: Omit<GuardOptions, 'maxBodyBytes'>
  /** the guard's clock in ms (default performance.now): a test freezes it so a bucket refills only when told */
  clock?: () => number
}

/**
 * The proxy's view of an agent's own spans: the OTLP/HTTP receiver, the assembler that turns spans into hops and
 * turns, and the index of the proxy's recent hops it joins them with.
 */
export class AgentTraces {
  readonly receiver: OtlpReceiver
  readonly guard: ReceiverGuard | undefined
  readonly assembler: AgentSpanAssembler
  private readonly recent = new RecentHops()
  private readonly listener = (message: unknown) => this.recent.add(message as HopRecord)
  private readonly timer: NodeJS.Timeout

  constructor(options: AgentTracesOptions) {
    this.assembler = new AgentSpanAssembler({ runId: options.runId, keepContent: options.keepContent, holdMs: options.holdS * 1000, maxHeld: 10_000, recordTurns: options.recordTurns, row: options.row }, this.recent)
    const { receiver, guard } = guardedReceiver(options, (spans) => this.assembler.ingest(spans))
    this.receiver = receiver
    this.guard = guard
    hopEnded.subscribe(this.listener)
    this.timer = setInterval(() => this.assembler.expire(), Math.max(250, Math.min(5000, options.holdS * 250)))
    this.timer.unref()
  }

  /** The proxy's listeners (its main URL and each upstream's own): spans whose call went to one can join without a trace. */
  listening(urls: Iterable<string>): void {
    const ports: number[] = []
    for (const url of urls) {
      const port = Number(new URL(url).port)
      if (port > 0) ports.push(port)
    }
    this.recent.listening(ports)
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.receiver.handle(req, res)
  }

  stats(): ReceiverStats & { held: number; ambiguous_joins: number } & AgentSpanAssembler['stats'] & Partial<ReceiverGuard['stats']> {
    return { ...this.receiver.stats, ...this.assembler.stats, ...this.guard?.stats, held: this.assembler.heldCount, ambiguous_joins: this.recent.stats.ambiguous }
  }

  /** Writes what is still held; call after the proxy stopped taking requests. */
  close(): void {
    clearInterval(this.timer)
    hopEnded.unsubscribe(this.listener)
    this.assembler.close()
  }
}
