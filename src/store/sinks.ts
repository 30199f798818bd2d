import type { Store } from './open.js'
import { identifier } from './sql.js'
import type { RowSink } from './writer.js'

/**
 * Inserts batches into the store's tables as JSONEachRow. Given a way to open the store rather than an open one, it
 * opens it on the first insert and again after a failure to open, so a proxy can start while its ClickHouse server is
 * down: rows spill until the server answers.
 */
export class ClickHouseSink implements RowSink {
  private opening: Promise<Store> | undefined

  constructor(private readonly store: Store | (() => Promise<Store>)) {}

  async insert(table: string, rows: readonly object[]): Promise<void> {
    const store = await this.open()
    await store.client.insert({ table: `${identifier(store.database)}.${identifier(table)}`, values: rows as object[], format: 'JSONEachRow' })
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
}
