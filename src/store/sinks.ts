import { Readable } from 'node:stream'
import type { QueryLines } from './analysis.js'
import type { Store } from './open.js'
import { queryJsonLines } from './query.js'
import { keyOf } from './schema.js'
import { identifier, quoteString } from './sql.js'
import { encodeInSlices, tsvEncoder } from './tsv.js'
import type { RowSink } from './writer.js'

/** Keys per lookup: a query stays far below the server's 256 KiB `max_query_size`. */
const KEYS_PER_QUERY = 500

/**
 * Which of these rows a table holds already, by the table's key (`schema.ts`), asked in slices of a few hundred keys;
 * each lookup is narrowed by `run_id`, the first column of every table's sort key.
 */
export async function presentRows(query: QueryLines, database: string, table: string, rows: readonly object[]): Promise<boolean[]> {
  const key = keyOf(table)
  const literal = (value: number | string): string => (typeof value === 'number' ? String(Math.trunc(value)) : quoteString(value))
  const columns = key.columns.map(identifier).join(', ')
  const found = new Set<string>()
  for (let i = 0; i < rows.length; i += KEYS_PER_QUERY) {
    const slice = rows.slice(i, i + KEYS_PER_QUERY).map(key.values)
    // run_id is every key's first column, and the first of every table's sort key
    const runs = [...new Set(slice.map((values) => literal(values[0] as string)))]
    const tuples = [...new Set(slice.map((values) => `(${values.map(literal).join(', ')})`))]
    const sql = `SELECT DISTINCT ${columns} FROM ${identifier(database)}.${identifier(table)} WHERE run_id IN (${runs.join(', ')}) AND (${columns}) IN (${tuples.join(', ')})`
    for await (const line of query(sql)) found.add(key.text(JSON.parse(line) as object))
  }
  return rows.map((row) => found.has(key.text(row)))
}

/** Waits (up to `deadlineMs`) until the inserts into `table` that the server is running now have ended. */
async function insertsEnded(query: QueryLines, database: string, table: string, deadlineMs: number): Promise<void> {
  const running = async () => {
    const ids = new Set<string>()
    const sql = `SELECT query_id FROM system.processes WHERE query LIKE ${quoteString(`INSERT INTO ${database}.${table} %`)}`
    for await (const line of query(sql)) ids.add((JSON.parse(line) as { query_id: string }).query_id)
    return ids
  }
  const before = await running()
  for (const end = Date.now() + deadlineMs; before.size > 0 && Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 50))
    const now = await running()
    for (const id of before) if (!now.has(id)) before.delete(id)
  }
}

/**
 * Inserts batches into the store's tables as TabSeparated text (tsv.ts). Given a way to open the store rather than an open one, it
 * opens it on the first insert and again after a failure to open, so a proxy can start while its ClickHouse server is
 * down: rows spill until the server answers.
 */
export class ClickHouseSink implements RowSink {
  private opening: Promise<Store> | undefined

  /** `timeoutMs`: an insert (or a lookup) that takes longer is abandoned, so a hung store holds up nothing. */
  constructor(
    private readonly store: Store | (() => Promise<Store>),
    private readonly options: { timeoutMs?: number } = {},
  ) {}

  async insert(table: string, rows: readonly object[]): Promise<void> {
    // encoded in slices, the proxy's requests served between two
    await this.insertEncoded(table, await encodeInSlices(tsvEncoder(table), rows))
  }

  /** TabSeparated lines in `tsvEncoder(table)`'s columns: the client sends the chunks as they are, as one body. */
  async insertEncoded(table: string, chunks: readonly Buffer[]): Promise<void> {
    const store = await this.open()
    const values = Readable.from(chunks, { objectMode: false })
    await store.client.insert({ table: `${identifier(store.database)}.${identifier(table)}`, values, columns: tsvEncoder(table).columns as [string, ...string[]], format: 'TabSeparated', ...this.deadline() })
  }

  async present(table: string, rows: readonly object[]): Promise<boolean[]> {
    const store = await this.open()
    const query = (sql: string) => queryJsonLines(store, sql, this.deadline().abort_signal)
    // a server may still be running an insert its caller abandoned (a timeout, a killed process): wait for the inserts
    // into this table it runs now to end, or a row the lookup misses could land after it
    if (store.target.kind === 'server') await insertsEnded(query, store.database, table, this.options.timeoutMs ?? 30_000)
    return presentRows(query, store.database, table, rows)
  }

  private deadline(): { abort_signal?: AbortSignal } {
    return this.options.timeoutMs !== undefined ? { abort_signal: AbortSignal.timeout(this.options.timeoutMs) } : {}
  }

  private open(): Promise<Store> {
    if (typeof this.store !== 'function') return Promise.resolve(this.store)
    this.opening ??= this.store().catch((err: unknown) => {
      this.opening = undefined
      throw err
    })
    return this.opening
  }
}

/** Keeps rows in memory; `down` makes every insert fail, as a store that is unreachable would. For tests of other parts. */
export class MemorySink implements RowSink {
  readonly rows = new Map<string, object[]>()
  down = false

  async insert(table: string, rows: readonly object[]): Promise<void> {
    if (this.down) throw new Error('memory sink is down')
    let kept = this.rows.get(table)
    if (kept === undefined) this.rows.set(table, (kept = []))
    kept.push(...rows)
  }

  async present(table: string, rows: readonly object[]): Promise<boolean[]> {
    if (this.down) throw new Error('memory sink is down')
    const key = keyOf(table)
    const stored = new Set((this.rows.get(table) ?? []).map(key.text))
    return rows.map((row) => stored.has(key.text(row)))
  }
}
