import { SpillAppendError, type Spill } from './spill.js'
import { tsvEncoder, type TsvEncoder } from './tsv.js'

/** Where batches go: the ClickHouse store, or an in-memory sink in tests of other parts. Throws when it cannot take them. */
export interface RowSink {
  insert(table: string, rows: readonly object[]): Promise<void>
  /**
   * Which of these rows the store already holds, by the table's key: asked before replaying rows a failed insert may
   * have stored all the same. A sink without it has those rows inserted again (and maybe stored twice).
   */
  present?(table: string, rows: readonly object[]): Promise<boolean[]>
  /**
   * Inserts rows already encoded as TabSeparated lines (`tsvEncoder(table).line`, in its columns' order). A sink
   * that has it has the writer keep queued rows as those bytes, off the V8 heap, rather than as objects (below).
   */
  insertEncoded?(table: string, chunks: readonly Buffer[]): Promise<void>
}

/**
 * Queued rows encoded, packed into bytes this many lines at a time. A row waiting as an object (some 35 fields, a
 * heap number per timestamp) is copied by every young-generation collection it lives through and then promoted, for a
 * full collection to mark later: recording into the embedded store had 7.65 × the bytes surviving each scavenge of
 * forwarding only, and promoted 4.22 × as much per request (test/bench/gc-cost.bench.ts, stop 33). As bytes, a row
 * costs the collector nothing once its pack is made.
 */
export const PACK_ROWS = 64

/** One table's queued rows as TabSeparated bytes: whole packs, and the lines of the pack being filled. */
interface EncodedQueue {
  encoder: TsvEncoder
  packs: Array<{ bytes: Buffer; rows: number }>
  lines: string[]
  rows: number
}

export interface WriterOptions {
  /** rows held in memory awaiting insert (all tables); past it rows go to the spill file */
  queueRows: number
  batchRows: number
  flushMs: number
  /** after a failed insert, the store is tried again after this long; meanwhile rows spill */
  retryMs: number
}

/**
 * `refused`: the store refused the row for its data (kept in the spill's dead-letter files while there is room).
 * `spill_disk_full`: the spill directory's disk had no room left (ENOSPC); `spill_error`: it refused the write otherwise.
 */
export type DropReason = 'queue_full' | 'spill_full' | 'spill_disk_full' | 'spill_error' | 'spill_corrupt' | 'spill_vanished' | 'refused'

/**
 * ClickHouse error codes that say a row's data cannot go into its columns (parse failures, wrong types, values out
 * of range), as opposed to a store that is down or a schema that is wrong: retrying such a row fails forever.
 */
const DATA_ERROR_CODES = new Set([6, 26, 27, 38, 41, 53, 69, 70, 72, 117, 131, 321, 349])

/** Whether an insert failed because of the rows' data: the client's `code`, or `Code: N` in an older server's message. */
export function isDataError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown }
  const code = typeof e.code === 'string' && /^\d+$/.test(e.code) ? Number(e.code) : Number(/\bCode:\s*(\d+)/.exec(String(e.message ?? ''))?.[1] ?? Number.NaN)
  return DATA_ERROR_CODES.has(code)
}

export interface TableCounts {
  /** rows accepted by push() */
  pushed: number
  /** rows inserted into the store, directly or by replay */
  written: number
  /** rows written to the spill file */
  spilled: number
  /** spilled rows later inserted, or found already stored (`found_stored`) */
  replayed: number
  /** spilled rows a failed insert had stored all the same: found in the store on replay, and not inserted again */
  found_stored: number
  /** rows that could not be kept, by reason */
  dropped: Record<DropReason, number>
}

export interface WriterStats {
  tables: Record<string, TableCounts>
  queuedRows: number
  spillBytes: number
  storeUp: boolean
  lastError: string
}

/**
 * Takes rows off the hot path: push() is an array append (for a sink that takes encoded rows, one line of text
 * and an append); batches are inserted by size or interval, one at a time.
 * When the store fails, batches spill to disk and are replayed once an insert succeeds again. When inserts are merely
 * slow, the queue fills and further rows spill from a separate loop. A batch the store refuses for its data is halved
 * until the bad rows are found; they go to a dead-letter file (never retried) and the rest is inserted, so one poison
 * row cannot spill its batch, or block a replay, for good. Every row is counted as written, spilled, replayed or
 * dropped (with its reason), so nothing is lost silently.
 */
export class BatchWriter {
  private readonly pending = new Map<string, object[]>()
  /** for a sink that takes encoded rows: each table's queue as bytes (null: a table the schema does not know, queued as objects) */
  private readonly encoded = new Map<string, EncodedQueue | null>()
  private readonly overflow = new Map<string, object[]>()
  private pendingRows = 0
  private overflowRows = 0
  private readonly counts = new Map<string, TableCounts>()
  private storeUp = true
  private retryAt = 0
  private lastError = ''
  private timer: NodeJS.Timeout | undefined
  private drainScheduled = false
  private draining: Promise<void> | undefined
  private drainAgain = false
  private spilling: Promise<void> | undefined
  private closed = false
  /** per table, spilled rows the store refused on replay (so no longer outstanding) */
  private readonly refusedOnReplay = new Map<string, number>()
  /** lines to a pack: PACK_ROWS, or a batch if batches are smaller */
  private readonly packRows: number

  constructor(
    private readonly sink: RowSink,
    private readonly spill: Spill,
    private readonly options: WriterOptions,
    private readonly onDrop: (table: string, reason: DropReason, rows: number) => void = () => {},
  ) {
    this.packRows = Math.min(PACK_ROWS, options.batchRows)
  }

  /** Starts the interval flush and replays whatever earlier processes spilled. */
  start(): void {
    this.timer = setInterval(() => void this.drain(), this.options.flushMs)
    this.timer.unref()
    void this.drain()
  }

  /** Queues one row; never blocks and never throws. */
  push(table: string, row: object): void {
    const counts = this.countsOf(table)
    counts.pushed++
    if (this.pendingRows < this.options.queueRows) {
      const encoded = this.encodedQueue(table)
      if (encoded !== null) {
        encoded.lines.push(encoded.encoder.line(row))
        encoded.rows++
        this.pendingRows++
        if (encoded.lines.length >= this.packRows) pack(encoded)
        if (encoded.rows >= this.options.batchRows) this.scheduleDrain()
        return
      }
      let queue = this.pending.get(table)
      if (queue === undefined) this.pending.set(table, (queue = []))
      queue.push(row)
      this.pendingRows++
      if (queue.length >= this.options.batchRows) this.scheduleDrain()
      return
    }
    // the store is behind: keep up to another queue's worth for the spill loop, then drop and count
    if (this.overflowRows >= this.options.queueRows) {
      this.drop(table, 'queue_full', 1)
      return
    }
    let queue = this.overflow.get(table)
    if (queue === undefined) this.overflow.set(table, (queue = []))
    queue.push(row)
    this.overflowRows++
    this.spilling ??= this.spillOverflow().finally(() => (this.spilling = undefined))
  }

  /** The store failed and its retry time has not come: rows go to the spill file without an insert. */
  private storeResting(): boolean {
    return !this.storeUp && Date.now() < this.retryAt
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return
    this.drainScheduled = true
    setImmediate(() => {
      this.drainScheduled = false
      void this.drain()
    })
  }

  /** The table's encoded queue when the sink takes encoded rows and the schema knows the table, else null. */
  private encodedQueue(table: string): EncodedQueue | null {
    let queue = this.encoded.get(table)
    if (queue !== undefined) return queue
    queue = null
    if (this.sink.insertEncoded !== undefined) {
      try {
        queue = { encoder: tsvEncoder(table), packs: [], lines: [], rows: 0 }
      } catch {
        // not one of the schema's tables: its rows are queued as objects, and the sink's insert says what it makes of them
      }
    }
    this.encoded.set(table, queue)
    return queue
  }

  /** Counts rows that never reached this writer (another process's bound refused them) as pushed and dropped. */
  lost(table: string, reason: DropReason, rows: number): void {
    this.countsOf(table).pushed += rows
    this.drop(table, reason, rows)
  }

  /** Inserts (or spills) everything queued so far, and replays spills if the store is up. */
  flush(): Promise<void> {
    return this.drain()
  }

  /** Flushes what is queued (spilling it if the store is down) and stops the timer. */
  async close(): Promise<void> {
    this.closed = true
    if (this.timer !== undefined) clearInterval(this.timer)
    await this.spilling
    await this.drain()
    await this.spilling
  }

  stats(): WriterStats {
    return {
      tables: Object.fromEntries([...this.counts].map(([t, c]) => [t, { ...c, dropped: { ...c.dropped } }])),
      queuedRows: this.pendingRows + this.overflowRows,
      spillBytes: this.spill.bytes,
      storeUp: this.storeUp,
      lastError: this.lastError,
    }
  }

  private drain(): Promise<void> {
    if (this.draining !== undefined) {
      this.drainAgain = true
      return this.draining
    }
    this.draining = this.drainLoop().finally(() => (this.draining = undefined))
    return this.draining
  }

  private async drainLoop(): Promise<void> {
    do {
      this.drainAgain = false
      for (const [table, queue] of this.pending) {
        // only the rows queued when this pass began: rows that arrive during an insert wait for the next flush (or a
        // full batch), or every insert would be followed at once by one of the few rows that came meanwhile — a
        // stream of tiny inserts, each a part for the engine to write and merge
        for (let due = queue.length; due > 0; ) {
          const batch = queue.splice(0, Math.min(due, this.options.batchRows))
          due -= batch.length
          this.pendingRows -= batch.length
          await this.insertOrSpill(table, batch)
        }
      }
      for (const [table, queue] of this.encoded) {
        if (queue === null || queue.rows === 0) continue
        // as above, only the rows queued when this pass began
        pack(queue)
        let batch: Buffer[] = []
        let rows = 0
        const send = async (): Promise<void> => {
          queue.rows -= rows
          this.pendingRows -= rows
          await this.insertOrSpillEncoded(table, queue.encoder, batch, rows)
          batch = []
          rows = 0
        }
        for (const p of queue.packs.splice(0)) {
          if (rows > 0 && rows + p.rows > this.options.batchRows) await send()
          batch.push(p.bytes)
          rows += p.rows
        }
        if (rows > 0) await send()
      }
      if (!this.storeResting()) await this.replaySpills()
    } while (this.drainAgain)
  }

  /** `refused`: the data error the store already gave for this whole batch, which then is not sent whole again. */
  private async insertOrSpill(table: string, batch: object[], refused?: unknown): Promise<void> {
    if (this.storeResting()) {
      await this.spillRows(table, batch)
      return
    }
    const { uncertain, unsent } = await this.insertSorting(table, batch, (n) => (this.countsOf(table).written += n), false, refused)
    if (uncertain.length > 0) await this.spillRows(table, uncertain, true)
    if (unsent.length > 0) await this.spillRows(table, unsent)
  }

  /**
   * Inserts a batch of encoded rows in one insert. When that fails the rows are read back into objects and take the
   * object path: a store that is down has them spilled (they may have been stored: uncertain), one that refused their
   * data has the batch halved until the refused rows stand alone (insertSorting).
   */
  private async insertOrSpillEncoded(table: string, encoder: TsvEncoder, chunks: Buffer[], rows: number): Promise<void> {
    const decoded = () => chunks.flatMap((chunk) => encoder.decode(chunk.toString('utf8')))
    if (this.storeResting()) {
      await this.spillRows(table, decoded())
      return
    }
    try {
      await (this.sink.insertEncoded as NonNullable<RowSink['insertEncoded']>)(table, chunks)
    } catch (err) {
      if (isDataError(err)) {
        await this.insertOrSpill(table, decoded(), err)
        return
      }
      this.markDown(err)
      await this.spillRows(table, decoded(), true)
      return
    }
    this.countsOf(table).written += rows
    this.storeUp = true
  }

  /**
   * Inserts rows; when the store refuses them for their data, halves the batch until the refused rows stand alone
   * and sends those to the dead-letter file. When the store fails otherwise, marks it down and returns the rows of the
   * failed insert (`uncertain`: a timeout or a reset may come after the store committed them) and the rows not yet
   * tried (`unsent`), to spill or to keep in the spill file; `inserted` hears of every batch that went in. `refused`:
   * the data error the store already gave for all of `rows`, which then start halved.
   */
  private async insertSorting(
    table: string,
    rows: object[],
    inserted: (n: number) => void,
    replaying = false,
    refused?: unknown,
  ): Promise<{ uncertain: object[]; unsent: object[] }> {
    const stack: object[][] = []
    const sortOut = async (chunk: object[], err: unknown): Promise<void> => {
      if (chunk.length === 1) {
        await this.refuse(table, chunk[0] as object, err)
        if (replaying) this.refusedOnReplay.set(table, (this.refusedOnReplay.get(table) ?? 0) + 1)
      } else stack.push(chunk.slice(chunk.length >> 1), chunk.slice(0, chunk.length >> 1))
    }
    if (refused !== undefined) await sortOut(rows, refused)
    else stack.push(rows)
    for (let chunk = stack.pop(); chunk !== undefined; chunk = stack.pop()) {
      try {
        await this.sink.insert(table, chunk)
        inserted(chunk.length)
        this.storeUp = true
      } catch (err) {
        if (!isDataError(err)) {
          this.markDown(err)
          return { uncertain: chunk, unsent: stack.flat() }
        }
        await sortOut(chunk, err)
      }
    }
    return { uncertain: [], unsent: [] }
  }

  private async refuse(table: string, row: object, err: unknown): Promise<void> {
    const message = (err as Error).message ?? String(err)
    this.lastError = `the store refused a ${table} row (kept in ${this.spill.deadLetterDir}): ${message.slice(0, 200)}`
    await this.spill.deadLetter(table, row, message)
    this.drop(table, 'refused', 1)
  }

  /**
   * Rows this process spilled that are neither replayed nor counted lost, when the spill directory itself is gone
   * (deleted under the running process): they are lost, and said so, never promised to a later replay. (A file gone
   * from a directory that is still there may have been replayed by another process sharing it: not counted.)
   */
  private async countVanished(): Promise<void> {
    if (await this.spill.present()) return
    this.countLost()
    await this.spill.recount()
  }

  private countLost(): void {
    for (const [table, c] of this.counts) {
      const outstanding = c.spilled - c.replayed - c.dropped.spill_corrupt - c.dropped.spill_vanished - (this.refusedOnReplay.get(table) ?? 0)
      if (outstanding > 0) {
        this.lastError = `spill: the spill directory ${this.spill.dir} vanished with ${outstanding} ${table} rows`
        this.drop(table, 'spill_vanished', outstanding)
      }
    }
  }

  private async replaySpills(): Promise<void> {
    await this.countVanished()
    for (const table of await this.spill.tables()) {
      try {
        const { replayed, corrupt } = await this.spill.replay(table, this.options.batchRows, async (batch, uncertain) => {
          const counts = this.countsOf(table)
          // rows a failed insert may have stored: those the store holds are not inserted again
          const rows = uncertain ? await this.leaveOutStored(table, batch) : batch
          // counted per batch, so a replay cut short by the store failing again still counts what it inserted
          const { uncertain: cut, unsent } = await this.insertSorting(
            table,
            rows,
            (n) => {
              counts.written += n
              counts.replayed += n
            },
            true,
          )
          // the store is down again: the replay stops here and resumes from this batch, told that it is uncertain
          if (cut.length + unsent.length > 0) throw new Error(this.lastError)
        })
        if (corrupt > 0) this.drop(table, 'spill_corrupt', corrupt)
        if (replayed > 0) this.storeUp = true
      } catch (err) {
        this.markDown(err)
        return
      }
    }
  }

  /** The rows of a batch the store does not hold yet; those it holds are counted as replayed (found stored). */
  private async leaveOutStored(table: string, batch: object[]): Promise<object[]> {
    if (this.sink.present === undefined) return batch
    const found = await this.sink.present(table, batch)
    const rows = batch.filter((_, i) => !found[i])
    const counts = this.countsOf(table)
    const stored = batch.length - rows.length
    counts.written += stored
    counts.replayed += stored
    counts.found_stored += stored
    return rows
  }

  private async spillOverflow(): Promise<void> {
    while (this.overflowRows > 0) {
      for (const [table, queue] of this.overflow) {
        if (queue.length === 0) continue
        const rows = queue.splice(0)
        this.overflowRows -= rows.length
        await this.spillRows(table, rows)
      }
    }
  }

  private async spillRows(table: string, rows: object[], uncertain = false): Promise<void> {
    try {
      const { kept, dropped, recreated } = await this.spill.append(table, rows, { uncertain })
      // the directory had to be made again: what was spilled into it before is gone
      if (recreated) this.countLost()
      this.countsOf(table).spilled += kept
      if (dropped > 0) this.drop(table, 'spill_full', dropped)
    } catch (err) {
      this.lastError = `spill: ${(err as Error).message}`
      if (!(err instanceof SpillAppendError)) {
        this.drop(table, 'spill_error', rows.length)
        return
      }
      // the rows before the refused write are on disk and will be replayed; the rest are not
      if (err.recreated) this.countLost()
      this.countsOf(table).spilled += err.kept
      this.drop(table, err.noSpace ? 'spill_disk_full' : 'spill_error', err.lost)
    }
  }

  private markDown(err: unknown): void {
    this.storeUp = false
    // while closing there is no later: after one failure, the rest goes to the spill file (replayed next start)
    this.retryAt = this.closed ? Number.POSITIVE_INFINITY : Date.now() + this.options.retryMs
    this.lastError = (err as Error).message ?? String(err)
  }

  private drop(table: string, reason: DropReason, rows: number): void {
    this.countsOf(table).dropped[reason] += rows
    this.onDrop(table, reason, rows)
  }

  private countsOf(table: string): TableCounts {
    let counts = this.counts.get(table)
    if (counts === undefined) {
      counts = {
        pushed: 0,
        written: 0,
        spilled: 0,
        replayed: 0,
        found_stored: 0,
        dropped: { queue_full: 0, spill_full: 0, spill_disk_full: 0, spill_error: 0, spill_corrupt: 0, spill_vanished: 0, refused: 0 },
      }
      this.counts.set(table, counts)
    }
    return counts
  }
}

/** The lines of the pack being filled become one pack of bytes. */
function pack(queue: EncodedQueue): void {
  if (queue.lines.length === 0) return
  queue.packs.push({ bytes: Buffer.from(queue.lines.join(''), 'utf8'), rows: queue.lines.length })
  queue.lines = []
}
