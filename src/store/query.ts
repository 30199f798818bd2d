import { StoreError } from './errors.js'
import type { Store } from './open.js'

/** Statements that return rows; anything else runs as a command and prints nothing. */
const ROW_STATEMENT = /^\s*(\(|SELECT\b|WITH\b|SHOW\b|DESC\b|DESCRIBE\b|EXISTS\b|EXPLAIN\b)/i

/**
 * Runs one statement on the store, yielding each result row as a JSON line (without the newline). Tables are named with
 * their database (`hopwatch.hops`), the same on every engine. Rows stream: a large result never sits in memory whole.
 */
export async function* queryJsonLines(store: Store, sql: string, signal?: AbortSignal): AsyncGenerator<string> {
  const statement = sql.trim().replace(/;\s*$/, '')
  try {
    if (!ROW_STATEMENT.test(statement)) {
      await store.client.command({ query: statement, ...(signal !== undefined ? { abort_signal: signal } : {}) })
      return
    }
    const rs = await store.client.query({ query: statement, format: 'JSONEachRow', ...(signal !== undefined ? { abort_signal: signal } : {}) })
    for await (const rows of rs.stream()) {
      for (const row of rows) yield row.text
    }
  } catch (err) {
    if (err instanceof StoreError) throw err
    throw new StoreError('HW_STORE_QUERY', (err as Error).message.trim(), { cause: err })
  }
}
