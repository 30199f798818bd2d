import { isNumeric, tableOf } from './schema.js'

/** A table's rows as ClickHouse TabSeparated text, in the order of `columns`. */
export interface TsvEncoder {
  readonly columns: readonly string[]
  encode(rows: readonly object[]): string
  /** One row as one TabSeparated line, newline included, in one flat string (no rope of a piece per field). */
  line(row: object): string
  /**
   * The rows of text this encoder wrote, each encoding again to the same line: a numeric field that reads back as
   * the same number is a number, any other text a string (for the store to refuse as it would have), a text field
   * unescaped; a field the row left out comes back as its type's default, as the store would have stored it.
   */
  decode(text: string): object[]
}

/** one per table, built on first use: the schema does not change while the process runs */
const ENCODERS = new Map<string, TsvEncoder>()

const SPECIAL = /[\0\t\n\r\\]/
const SPECIAL_ALL = /[\0\t\n\r\\]/g
const ESCAPES: Record<string, string> = { '\0': '\\0', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\\': '\\\\' }

/** A string field as TabSeparated writes it: the delimiters, NUL and the backslash escaped, everything else as is. */
function tsvString(value: string): string {
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPES[c] as string) : value
}

const UNESCAPES: Record<string, string> = { '0': '\0', t: '\t', n: '\n', r: '\r', '\\': '\\' }

/** A field as it was before tsvString escaped it. */
function unescapeTsv(field: string): string {
  return field.includes('\\') ? field.replace(/\\(.)/g, (_, c: string) => UNESCAPES[c] ?? c) : field
}

/** A numeric field back: the number it was when it prints the same, else the text it was (tsvNumber's fallback). */
function numberOf(field: string): number | string {
  const n = Number(field)
  return field !== '' && Number.isFinite(n) && String(n) === field ? n : unescapeTsv(field)
}

/** A text field: a string escaped, anything else as its text, an absent value empty. */
function tsvText(value: unknown): string {
  if (typeof value === 'string') return tsvString(value)
  return value === undefined || value === null ? '' : tsvString(String(value))
}

/**
 * A safe integer of 9 digits or more (n ≥ 1e8: below that String's own path is the fast one) as `String` prints it,
 * made of two integers of at most 8 digits each. A row's timestamps (microseconds since 1970, some 1.8e15) are heap
 * numbers, which V8 prints through its general double-to-text path, about three times as slow as printing the two
 * halves as small integers; the timestamps were a third of the time the proxy spent encoding a hop's line (stop 34).
 */
export function largeIntegerText(n: number): string {
  // Exact for a safe integer: n / 1e8 is below 2^27, where half a double's spacing (under 7.5e-9) is less than the
  // 1e-8 by which n one below a multiple of 1e8 falls short, so the quotient never rounds up to the next integer;
  // high × 1e8 is (high × 5^8) × 2^8, both products below 2^53; n less it is an integer below 1e8. `| 0` (both are
  // below 2^31) makes each a small integer, which String prints on V8's fast path from the first call.
  const high = Math.floor(n / 1e8) | 0
  const digits = String((n - high * 1e8) | 0)
  return String(high) + '00000000'.slice(digits.length) + digits
}

/**
 * A numeric field: a finite number as JavaScript prints it (ClickHouse reads exponents too); a non-finite one 0, the
 * column's default, as JSONEachRow's `null` was stored; anything else as text, for the store to refuse if it is no number.
 */
function tsvNumber(value: unknown): string {
  if (typeof value === 'number') {
    if (value >= 1e8 && Number.isSafeInteger(value)) return largeIntegerText(value)
    return Number.isFinite(value) ? String(value) : '0'
  }
  return value === undefined || value === null ? '0' : tsvString(String(value))
}

/**
 * The encoder for one table of the schema. TabSeparated, not JSONEachRow: the rows carry no keys, so the text is about
 * half as long, and it is cheaper to build and to parse: inserting 2,000-row batches of hops into the embedded engine
 * cost 28.7 ms of CPU per 1,000 rows (every thread) against 38.2 as JSONEachRow, and building the text 3.1 µs a row
 * against 6.1 (test/bench/recording-path.bench.ts, stop 28). Every engine the store supports reads it, 18.x included.
 * A column a row leaves out is sent as its type's default, as JSONEachRow left it to the engine.
 */
export function tsvEncoder(table: string): TsvEncoder {
  let encoder = ENCODERS.get(table)
  if (encoder === undefined) ENCODERS.set(table, (encoder = encoderOf(table)))
  return encoder
}

function encoderOf(table: string): TsvEncoder {
  const spec = tableOf(table)
  const columns = spec.columns.map(([name]) => name)
  const numeric = spec.columns.map(([, type]) => isNumeric(type))
  /** column i of a row, as its field */
  const field = (r: Record<string, unknown>, i: number): string => (numeric[i] ? tsvNumber(r[columns[i] as string]) : tsvText(r[columns[i] as string]))
  return {
    columns,
    encode(rows) {
      let out = ''
      for (const row of rows) {
        for (let i = 0; i < columns.length; i++) {
          if (i > 0) out += '\t'
          out += field(row as Record<string, unknown>, i)
        }
        out += '\n'
      }
      return out
    },
    line(row) {
      const fields = new Array<string>(columns.length)
      for (let i = 0; i < columns.length; i++) fields[i] = field(row as Record<string, unknown>, i)
      fields[columns.length - 1] += '\n'
      // join copies every piece into one flat string
      return fields.join('\t')
    },
    decode(text) {
      const rows: object[] = []
      for (const line of text.split('\n')) {
        if (line === '') continue
        const fields = line.split('\t')
        const row: Record<string, unknown> = {}
        for (let i = 0; i < columns.length; i++) row[columns[i] as string] = numeric[i] ? numberOf(fields[i] ?? '') : unescapeTsv(fields[i] ?? '')
        rows.push(row)
      }
      return rows
    },
  }
}

/**
 * Rows encoded between two turns of the event loop. Encoding costs about 3 µs a row (above), so a 1,000-row batch in
 * one piece held a proxy's loop 3–4 ms once a flush, and the requests that came meanwhile waited up to that long
 * (stop 32). A slice of 200 rows holds it some 0.6 ms.
 */
export const ROWS_PER_SLICE = 200

/**
 * A batch as TabSeparated bytes, `rowsPerSlice` rows at a time, the event loop turning (setImmediate: after the I/O
 * that waits) between two slices. Each slice is turned into bytes at once: the text `+=` builds is a rope of a piece
 * per field, and flattening a whole batch's rope later (where the client or the engine reads it) would be one more
 * block of the loop.
 */
export async function encodeInSlices(encoder: TsvEncoder, rows: readonly object[], rowsPerSlice = ROWS_PER_SLICE): Promise<Buffer[]> {
  const out: Buffer[] = []
  for (let at = 0; at < rows.length; at += rowsPerSlice) {
    if (at > 0) await new Promise<void>((resolve) => setImmediate(resolve))
    out.push(Buffer.from(encoder.encode(rows.slice(at, at + rowsPerSlice)), 'utf8'))
  }
  return out
}
