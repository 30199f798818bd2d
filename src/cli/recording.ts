import { redactUrl } from '../redact.js'
import type { HopwatchConfig } from '../config/index.js'
import { join } from 'node:path'
import { BatchWriter, ClickHouseSink, liveOwner, openStore, queryJsonLines, recordHops, recordLoad, removeOwner, runRow, Spill, storableRow, writeOwner, type DropReason, type RowSink, type Store, type StoreOwner, type TableName, type WriterStats } from '../store/index.js'
import { AdminSink } from './admin-client.js'
import type { AdminHooks } from '../proxy/index.js'
import type { RunRecord } from '../types.js'
import { nowUs } from '../clock.js'
import { VERSION } from './version.js'
import { describeTarget, spillDir, storeTarget } from './store-access.js'
import { table } from './output.js'

/**
 * The store side of a command that records: the store opened (a server may be down: rows spill until it is up),
 * the batch writer subscribed to hops (and turns and steps), the run row written at start and end, and a closing
 * report of every row written, spilled or dropped.
 */
export class Recording {
  private store: Store | undefined
  /** the admin API's own connection to the store, opened on its first query */
  private adminStore: Promise<Store> | undefined
  readonly writer: BatchWriter
  /**
   * The rows made from spans agents send (spans, their hops and turns): a queue and spill of their own, a quarter of
   * the store's queue and spill bound, so a flood of spans never crowds the proxy's own hops out of theirs
   */
  readonly agentWriter: BatchWriter
  private readonly unsubscribe: Array<() => void> = []
  private readonly run: Omit<RunRecord, 'started_us'> & { started_us: number }
  private dropWarnedAt = 0

  private constructor(
    private readonly config: HopwatchConfig,
    private readonly spill: Spill,
    /** the agents' own spill; none where no receiver runs (a generator writing through the owner): one writer then */
    private readonly agentSpill: Spill | undefined,
    store: Store | undefined,
    run: { runId: string; source: string },
    /** the process whose admin API takes this one's rows (its store is held by it) */
    private readonly owner?: StoreOwner,
  ) {
    this.store = store
    const sink: RowSink = owner !== undefined ? new AdminSink(owner, this.config.store.database, this.config.store.insert_timeout_ms) : new ClickHouseSink(store ?? (() => this.ensureStore()), { timeoutMs: this.config.store.insert_timeout_ms })
    const options = { queueRows: config.store.queue_rows, batchRows: config.store.batch_rows, flushMs: config.store.flush_ms, retryMs: config.store.retry_ms }
    const warn = (tableName: string, reason: string, rows: number) => {
      if (Date.now() - this.dropWarnedAt < 10_000) return
      this.dropWarnedAt = Date.now()
      process.stderr.write(`hopwatch: warning: ${rows} ${tableName} rows dropped (${reason}); totals at /_hopwatch/stats and on /metrics\n`)
    }
    this.writer = new BatchWriter(sink, spill, options, warn)
    this.agentWriter = agentSpill === undefined ? this.writer : new BatchWriter(sink, agentSpill, { ...options, queueRows: Math.max(1000, Math.floor(options.queueRows / 4)) }, warn)
    this.run = { run_id: run.runId, name: config.run.name, started_us: nowUs(), source: run.source, hopwatch_version: VERSION, config_json: JSON.stringify(redacted(config)) }
  }

  /**
   * Opens the store and starts writing; `load` also records turns and steps. With `throughOwner` (hopwatch load), an
   * embedded store that a running proxy holds is written through that proxy's admin API, so the run's turns and its
   * hops land in one store; rows wait in `<spill_dir>/load/` while the proxy cannot take them.
   */
  static async start(config: HopwatchConfig, run: { runId: string; source: string; load: boolean; throughOwner?: boolean }): Promise<Recording> {
    const target = storeTarget(config.store)
    const owner = run.throughOwner === true && target.kind === 'embedded' ? await liveOwner(target.dir) : undefined
    if (owner !== undefined) {
      const spill = new Spill(join(spillDir(config.store), 'load'), config.store.spill_max_bytes)
      await spill.init()
      const recording = new Recording(config, spill, undefined, undefined, run, owner)
      recording.writer.start()
      recording.unsubscribe.push(recordLoad(recording.writer))
      recording.writer.push('runs', runRow(recording.run))
      return recording
    }
    // the embedded engine opens now (a locked directory is a usage error); a server may be down: rows spill until it is up
    const store = target.kind === 'embedded' ? await openStore(target, config.store.database) : undefined
    // agents' rows spill apart (a subdirectory, which the main spill does not read), with a quarter of the bound
    const agentShare = Math.floor(config.store.spill_max_bytes / 4)
    const spill = new Spill(spillDir(config.store), config.store.spill_max_bytes - agentShare)
    await spill.init()
    const agentSpill = new Spill(join(spill.dir, 'agent'), agentShare)
    await agentSpill.init()
    const recording = new Recording(config, spill, agentSpill, store, run)
    if (target.kind === 'server') {
      await recording.ensureStore().catch((err: Error) => process.stderr.write(`hopwatch: warning: ${err.message}\n  traffic flows; rows spill to ${spillDir(config.store)} until the server answers\n`))
    }
    recording.writer.start()
    recording.agentWriter.start()
    recording.unsubscribe.push(recordHops(recording.writer))
    if (run.load) recording.unsubscribe.push(recordLoad(recording.writer))
    recording.writer.push('runs', runRow(recording.run))
    return recording
  }

  get runId(): string {
    return this.run.run_id
  }

  get startedUs(): number {
    return this.run.started_us
  }

  ensureStore(): Promise<Store> {
    const target = storeTarget(this.config.store)
    return (async () => (this.store ??= await openStore(target, this.config.store.database)))()
  }

  /**
   * The admin API's SQL hook: queries go to the store this process owns over a connection of their own (a second
   * client, or a second chDB connection to the same directory), never the writer's, so a long query does not hold up
   * the inserts; cancelled by the signal.
   */
  sql(statement: string, signal?: AbortSignal): AsyncIterable<string> {
    const ensure = () =>
      (this.adminStore ??= openStore(storeTarget(this.config.store), this.config.store.database).catch((err: unknown) => {
        this.adminStore = undefined
        throw err
      }))
    return { [Symbol.asyncIterator]: async function* () { yield* queryJsonLines(await ensure(), statement, signal) } }
  }

  /**
   * The admin API's rows hook: rows another hopwatch process made (a load generator's runs, steps, turns, resource
   * samples and alerts; never hops or spans, which only this proxy and its receiver make) go into this process's queue,
   * each cut to its table's columns and made to fit them first.
   */
  acceptRows(table: string, rows: unknown[]): { accepted: number } | { refused: string } {
    if (!FROM_OTHERS.has(table)) return { refused: `rows for ${JSON.stringify(table.slice(0, 40))} are not taken from other processes; tables: ${[...FROM_OTHERS].join(', ')}` }
    let accepted = 0
    for (const raw of rows) {
      const row = storableRow(table as TableName, raw)
      if (row === undefined) continue
      this.writer.push(table, row)
      accepted++
    }
    return { accepted }
  }

  /**
   * The admin API's store hooks: queries on this process's store, and the rows a hopwatch load beside it sends (one
   * store holds the whole run).
   */
  storeHooks(): Required<Pick<AdminHooks, 'sql' | 'rows'>> {
    return { sql: (statement, signal) => this.sql(statement, signal), rows: (table, rows) => this.acceptRows(table, rows) }
  }

  /** Marks an embedded store as owned by this process, so `hopwatch sql` reaches it through its admin API and token. */
  async own(admin: { adminUrl: string; adminToken: string }): Promise<void> {
    const target = storeTarget(this.config.store)
    if (target.kind === 'embedded') await writeOwner(target.dir, { pid: process.pid, admin_url: admin.adminUrl, admin_token: admin.adminToken, started_us: this.run.started_us })
  }

  /** The writers: the proxy's own, and the agents' where it is a second one. */
  private writers(): BatchWriter[] {
    return this.agentWriter === this.writer ? [this.writer] : [this.writer, this.agentWriter]
  }

  /** Both writers' counts as one: per table, the rows written, spilled, replayed and dropped. */
  stats(): WriterStats {
    if (this.agentWriter === this.writer) return this.writer.stats()
    const [main, agent] = [this.writer.stats(), this.agentWriter.stats()]
    const tables: WriterStats['tables'] = {}
    for (const [name, c] of [...Object.entries(main.tables), ...Object.entries(agent.tables)]) {
      const t = tables[name]
      if (t === undefined) tables[name] = { ...c, dropped: { ...c.dropped } }
      else {
        t.pushed += c.pushed
        t.written += c.written
        t.spilled += c.spilled
        t.replayed += c.replayed
        for (const [reason, n] of Object.entries(c.dropped)) t.dropped[reason as DropReason] += n
      }
    }
    return { tables, queuedRows: main.queuedRows + agent.queuedRows, spillBytes: main.spillBytes + agent.spillBytes, storeUp: main.storeUp && agent.storeUp, lastError: main.lastError || agent.lastError }
  }

  /** Inserts (or spills) what both writers hold. */
  async flush(): Promise<void> {
    await Promise.all(this.writers().map((w) => w.flush()))
  }

  describe(): string {
    const target = storeTarget(this.config.store)
    if (this.owner !== undefined) return `${describeTarget(target)}, through the admin API of the process that owns it (pid ${this.owner.pid}, ${this.owner.admin_url})`
    return `${describeTarget(target)}${this.store !== undefined ? ` (ClickHouse ${this.store.version}), database ${this.config.store.database}` : ''}`
  }

  /** Writes the run's end, flushes every row, releases the store; returns the rows that could not be kept. */
  async close(): Promise<{ dropped: number; report: string; warning: string }> {
    for (const stop of this.unsubscribe) stop()
    this.writer.push('runs', runRow(this.run, nowUs()))
    await Promise.all(this.writers().map((w) => w.close()))
    const stats = this.stats()
    const target = storeTarget(this.config.store)
    if (target.kind === 'embedded' && this.owner === undefined) await removeOwner(target.dir)
    await (await this.adminStore?.catch(() => undefined))?.close()
    await this.store?.close()
    let dropped = 0
    const rows = Object.entries(stats.tables).map(([name, c]) => {
      const lost = Object.values(c.dropped).reduce((a, b) => a + b, 0)
      dropped += lost
      return [name, String(c.pushed), String(c.written), String(c.spilled), String(c.replayed), String(lost)]
    })
    let report = table(['table', 'rows', 'written', 'spilled', 'replayed', 'dropped'], rows)
    if (stats.spillBytes > 0) {
      report += this.owner !== undefined
        ? `${stats.spillBytes} bytes wait in ${this.spill.dir}; they are replayed by the next hopwatch load that writes through a proxy owning this store\n`
        : `${stats.spillBytes} bytes wait in ${this.spill.dir}${this.agentSpill !== undefined && this.agentSpill.bytes > 0 ? ` and ${this.agentSpill.dir}` : ''}; they are replayed by the next hopwatch process using this store\n`
    }
    const warning = dropped > 0 ? `hopwatch: ${dropped} rows could not be kept (store: ${stats.lastError || 'see above'})\n` : ''
    return { dropped, report, warning }
  }
}

/** The tables whose rows another hopwatch process may send through the admin API. */
const FROM_OTHERS: ReadonlySet<string> = new Set(['runs', 'steps', 'turns', 'resource_samples', 'alerts'])

/** The config as stored in `runs`: without the ClickHouse password, and with the alert sinks' URLs (often tokens themselves) redacted. */
export function redacted(config: HopwatchConfig): unknown {
  const sinks = config.alerts.sinks
  const alerts = { ...config.alerts, sinks: { ...sinks, webhooks: sinks.webhooks.map((u) => redactUrl(u, { path: true })), alertmanagers: sinks.alertmanagers.map((u) => redactUrl(u, { path: true })) } }
  const store = config.store.clickhouse === undefined ? config.store : { ...config.store, clickhouse: { ...config.store.clickhouse, password: config.store.clickhouse.password === '' ? '' : '(redacted)' } }
  return { ...config, alerts, store }
}
