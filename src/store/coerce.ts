import { TABLES, type TableName } from './schema.js'

/** The range each integer column type holds; a value outside it would fail the whole batch's insert. */
const INTEGER_RANGE: Record<string, [number, number]> = {
  UInt8: [0, 255],
  UInt16: [0, 65_535],
  UInt32: [0, 4_294_967_295],
  UInt64: [0, Number.MAX_SAFE_INTEGER],
  Int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
}

const COLUMNS = new Map(TABLES.map((t) => [t.name, t.columns.map(([name, type]) => [name, type] as const)]))

/**
 * A row from outside (an agent's spans through the OTLP receiver) made to fit its table's column types before it is
 * queued: integers clamped to their type's range and rounded, non-finite numbers 0, strings as strings, absent columns
 * their zero. One row with `input_tokens = 1e300` once failed every batch it was in, spilled them, and failed replay
 * forever; clamped, it is stored with the largest value its column holds. Returns how many fields had to change.
 */
export function coerceRow(table: TableName, row: Record<string, unknown>): number {
  const columns = COLUMNS.get(table)
  if (columns === undefined) return 0
  let changed = 0
  for (const [name, type] of columns) {
    const value = row[name]
    if (type === 'String' || type === 'Label') {
      if (typeof value !== 'string') {
        row[name] = value === undefined || value === null ? '' : String(value)
        changed++
      }
      continue
    }
    let n = typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : Number(value ?? 0)
    if (!Number.isFinite(n)) n = 0
    const range = INTEGER_RANGE[type]
    if (range !== undefined) n = Math.min(range[1], Math.max(range[0], Math.round(n)))
    if (n !== value) {
      row[name] = n
      changed++
    }
  }
  return changed
}

/**
 * A row sent by another process (a load generator writing through the proxy's admin API): exactly its table's
 * columns, each made to fit (as coerceRow), and nothing else; undefined for a value that is not an object.
 */
export function storableRow(table: TableName, raw: unknown): Record<string, unknown> | undefined {
  const columns = COLUMNS.get(table)
  if (columns === undefined || typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined
  const given = raw as Record<string, unknown>
  const row: Record<string, unknown> = {}
  for (const [name] of columns) row[name] = given[name]
  coerceRow(table, row)
  return row
}
