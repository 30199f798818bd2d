import type { Store } from './open.js'
import { identifier } from './sql.js'
import type { RowSink } from './writer.js'

/** Inserts batches into the store's tables as JSONEachRow. */
export class ClickHouseSink implements RowSink {
  constructor(private readonly store: Store) {}

  async insert(table: string, rows: readonly object[]): Promise<void> {
    await this.store.client.insert({ table: `${identifier(this.store.database)}.${identifier(table)}`, values: rows as object[], format: 'JSONEachRow' })
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
