import { createReadStream } from 'node:fs'
import { appendFile, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Rows serialised per slice, so a large spill never blocks the event loop for long. */
const SLICE_ROWS = 500
/** The dead-letter files' bound, over all tables: rows past it are counted, not kept. */
const MAX_DEAD_LETTER_BYTES = 16 * 1024 * 1024

/** A spill line `{"<marker>": bytes}`: the next `bytes` of the file hold rows a failed insert may have stored. */
const UNCERTAIN_MARKER = '__hopwatch_uncertain_bytes'

/** An append the disk refused part-way: `kept` rows of the call are on disk, `lost` are not. */
export class SpillAppendError extends Error {
  constructor(
    override readonly cause: NodeJS.ErrnoException,
    readonly kept: number,
    readonly lost: number,
    /** the directory had been made again first: what was spilled into it before is gone */
    readonly recreated: boolean,
  ) {
    super(cause.message)
  }

  /** The disk (or the user's quota) is full, as opposed to any other refusal. */
  get noSpace(): boolean {
    return this.cause.code === 'ENOSPC' || this.cause.code === 'EDQUOT'
  }
}

export interface SpillAppendResult {
  kept: number
  /** rows refused because the spill bound was reached */
  dropped: number
  /** the directory was gone and had to be made again: whatever was spilled before is lost */
  recreated: boolean
}

/**
 * Append-only JSON-lines files, one per table, for rows the store could not take. A replay renames the file aside
 * (new spills start a fresh file), inserts it in batches and records its byte offset after each batch, so a replay
 * that fails part-way resumes where it stopped instead of inserting rows twice.
 */
export class Spill {
  private usedBytes = 0
  private deadLetterBytes = 0
  private readonly chains = new Map<string, Promise<unknown>>()

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  /** Creates the directory and counts what earlier processes left in it (replayed like any other spill). */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.jsonl')) this.usedBytes += (await stat(join(this.dir, name))).size
    }
  }

  get bytes(): number {
    return this.usedBytes
  }

  /** Whether the spill directory is still there. */
  present(): Promise<boolean> {
    return exists(this.dir)
  }

  /** Counts the bytes on disk again (after files vanished under this process). */
  async recount(): Promise<void> {
    let bytes = 0
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (name.endsWith('.jsonl')) bytes += await stat(join(this.dir, name)).then((s) => s.size, () => 0)
    }
    this.usedBytes = bytes
  }

  /**
   * Appends rows for a table; rows beyond the byte bound are refused and counted, never half-written. `uncertain` rows
   * are ones a failed insert may have stored all the same (a timeout or a reset after the store committed them): a
   * marker line before them tells the replay to leave out those the store already holds.
   */
  append(table: string, rows: readonly object[], options: { uncertain?: boolean } = {}): Promise<SpillAppendResult> {
    return this.serial(table, async () => {
      let kept = 0
      let recreated = false
      const slices: string[] = []
      const sliceText = (i: number): string => {
        let text = ''
        for (const row of rows.slice(i, i + SLICE_ROWS)) text += `${JSON.stringify(row)}\n`
        return text
      }
      if (options.uncertain === true) {
        for (let i = 0; i < rows.length; i += SLICE_ROWS) slices.push(sliceText(i))
        const marker = `${JSON.stringify({ [UNCERTAIN_MARKER]: slices.reduce((n, text) => n + Buffer.byteLength(text), 0) })}\n`
        slices[0] = marker + (slices[0] ?? '')
      }
      for (let i = 0; i < rows.length; i += SLICE_ROWS) {
        const text = slices[i / SLICE_ROWS] ?? sliceText(i)
        const count = Math.min(SLICE_ROWS, rows.length - i)
        const size = Buffer.byteLength(text)
        if (this.usedBytes + size > this.maxBytes) return { kept, dropped: rows.length - kept, recreated }
        const path = this.pendingPath(table)
        // a directory removed under a running process is made again: the rows go on being kept
        const written = await this.appendWhole(path, text).catch(async (err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err
          await mkdir(this.dir, { recursive: true })
          recreated = true
          this.usedBytes = 0
          return this.appendWhole(path, text)
        }).catch((err: NodeJS.ErrnoException) => {
          // the disk is full (or refuses): these rows and the rest are not kept; those before them are
          throw new SpillAppendError(err, kept, rows.length - kept, recreated)
        })
        this.usedBytes += written
        kept += count
        if (i + SLICE_ROWS < rows.length) await new Promise((r) => setImmediate(r))
      }
      return { kept, dropped: 0, recreated }
    })
  }

  /**
   * Appends text whole or not at all: a write the disk cut short (ENOSPC part-way) is truncated away again, or its torn
   * line would swallow the next row appended after it. Returns the bytes written.
   */
  private async appendWhole(path: string, text: string): Promise<number> {
    const handle = await open(path, 'a')
    try {
      const before = (await handle.stat()).size
      try {
        await handle.appendFile(text)
      } catch (err) {
        await handle.truncate(before).catch(() => {})
        throw err
      }
      return Buffer.byteLength(text)
    } finally {
      await handle.close()
    }
  }

  /** Where rows the store refused for their data are kept, one JSON line each: `{at, table, error, row}`. */
  get deadLetterDir(): string {
    return join(this.dir, 'dead-letter')
  }

  /**
   * Keeps a row the store refused for its data (never to be retried: it would fail again) in the table's dead-letter
   * file, for a person to read. False when it could not be kept (the bound is reached, or the disk refused).
   */
  deadLetter(table: string, row: object, error: string): Promise<boolean> {
    return this.serial(`${table}:dead`, async () => {
      const line = `${JSON.stringify({ at: new Date().toISOString(), table, error: error.slice(0, 500), row })}\n`
      const size = Buffer.byteLength(line)
      if (this.deadLetterBytes + size > MAX_DEAD_LETTER_BYTES) return false
      try {
        await mkdir(this.deadLetterDir, { recursive: true })
        await appendFile(join(this.deadLetterDir, `${table}.jsonl`), line)
      } catch {
        return false
      }
      this.deadLetterBytes += size
      return true
    })
  }

  /** Tables that have rows waiting to be replayed. */
  async tables(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[])
    const tables = new Set<string>()
    for (const name of names) {
      const match = /^(.+?)(\.replaying)?\.jsonl$/.exec(name)
      if (match?.[1] !== undefined) tables.add(match[1])
    }
    return [...tables]
  }

  /**
   * Replays a table's spilled rows through `insert` in batches. Returns rows replayed and lines that were not valid
   * JSON (a torn last line after a crash). An insert failure propagates; the offset keeps what was done.
   *
   * The offset file says `<done> [<uncertain until>]`: before each insert it records the batch's end as uncertain,
   * after it the new offset. A replay that resumes (after a failed insert, or a process killed between an insert and
   * its offset write) therefore knows which rows the store may already hold, and `insert` is told (`uncertain`) to
   * leave those out, so no batch is stored twice. Rows behind an uncertain marker of `append` are told the same.
   */
  replay(
    table: string,
    batchRows: number,
    insert: (rows: object[], uncertain: boolean) => Promise<void>,
  ): Promise<{ replayed: number; corrupt: number }> {
    return this.serial(`${table}:replay`, async () => {
      const replaying = this.replayingPath(table)
      const offsetPath = `${replaying}.offset`
      let offset = 0
      let uncertainUntil = 0
      if (await exists(replaying)) {
        // a replay that stopped part-way (store down again, or a crash) resumes at its recorded offset
        const [done, until] = (await readFile(offsetPath, 'utf8').catch(() => '0')).trim().split(' ').map((n) => Number.parseInt(n, 10) || 0)
        offset = done ?? 0
        uncertainUntil = until ?? 0
      } else {
        await unlink(offsetPath).catch(() => {})
        // take the pending file aside, so spills made during the replay go to a fresh one
        const moved = await this.serial(table, () => rename(this.pendingPath(table), replaying).then(() => true, () => false))
        if (!moved) return { replayed: 0, corrupt: 0 }
      }
      let replayed = 0
      let corrupt = 0
      let batch: object[] = []
      let batchUncertain = false
      let batchEnd = offset
      const record = (text: string) => writeAtomically(offsetPath, text)
      const flush = async () => {
        if (batch.length > 0) {
          await record(`${offset} ${Math.max(uncertainUntil, batchEnd)}`)
          await insert(batch, batchUncertain)
        }
        replayed += batch.length
        batch = []
        offset = batchEnd
        await record(uncertainUntil > offset ? `${offset} ${uncertainUntil}` : String(offset))
      }
      // the unfinished line is kept as its pieces and only each new chunk is searched for a newline: linear in the
      // file, where re-joining and re-scanning it per chunk was quadratic (15 s of CPU for a 40 MB line)
      let pieces: string[] = []
      for await (const chunk of createReadStream(replaying, { start: offset, encoding: 'utf8' })) {
        const text = chunk as string
        let start = 0
        for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
          const line = pieces.length === 0 ? text.slice(start, nl) : pieces.join('') + text.slice(start, nl)
          pieces = []
          const lineStart = batchEnd
          start = nl + 1
          let row: object | undefined
          try {
            row = JSON.parse(line) as object
          } catch {
            corrupt++
          }
          const marker = row !== undefined ? (row as Record<string, unknown>)[UNCERTAIN_MARKER] : undefined
          if (typeof marker === 'number') {
            batchEnd += Buffer.byteLength(line) + 1
            uncertainUntil = Math.max(uncertainUntil, batchEnd + marker)
            continue
          }
          const uncertain = lineStart < uncertainUntil
          // a batch is all uncertain or all not: only the uncertain ones cost the store a lookup
          if (row !== undefined && uncertain !== batchUncertain && batch.length > 0) await flush()
          batchEnd += Buffer.byteLength(line) + 1
          if (row === undefined) continue
          batchUncertain = uncertain
          batch.push(row)
          if (batch.length >= batchRows) await flush()
        }
        if (start < text.length) pieces.push(text.slice(start))
      }
      if (pieces.length > 0) corrupt++ // a line without its newline was torn by a crash mid-append
      await flush()
      const size = (await stat(replaying)).size
      await unlink(replaying)
      await unlink(offsetPath).catch(() => {})
      this.usedBytes = Math.max(0, this.usedBytes - size)
      return { replayed, corrupt }
    })
  }

  private pendingPath(table: string): string {
    return join(this.dir, `${table}.jsonl`)
  }

  private replayingPath(table: string): string {
    return join(this.dir, `${table}.replaying.jsonl`)
  }

  /** Runs tasks with the same key one after another (appends to one file must not interleave). */
  private serial<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(key) ?? Promise.resolve()
    const next = previous.then(task, task)
    this.chains.set(key, next.catch(() => {}))
    return next
  }
}

/** Replaces a small file so that a crash leaves the old text or the new, never a torn one. */
async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text)
  await rename(`${path}.tmp`, path)
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}
