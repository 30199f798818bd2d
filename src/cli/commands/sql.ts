import { CliError } from '../errors.js'
import { didYouMean } from '../../edit-distance.js'
import { parseFlags, stringFlag } from '../args.js'
import { table } from '../output.js'
import { STORE_FLAGS, STORE_FLAGS_HELP, storeQuery } from '../store-access.js'

export const usage = `Usage: hopwatch sql "SELECT …" [--config hopwatch.yaml] [store flags]

Runs one SQL statement on the store and prints the result rows: as a table on a terminal, as JSON lines otherwise.
Tables live in the database "hopwatch" (or --clickhouse-database): name them as hopwatch.hops, hopwatch.runs, …
When a hopwatch process owns the embedded store, the query goes through its admin API; otherwise the
directory is opened directly.

  --format FORMAT   table (default on a terminal), json (JSON lines: the default otherwise) or csv
  --config FILE     hopwatch.yaml, for its store: section (default ./hopwatch.yaml when present)
${STORE_FLAGS_HELP}

Examples:
  hopwatch sql "SELECT component, count() FROM hopwatch.hops GROUP BY component"
  hopwatch sql --format csv "SELECT * FROM hopwatch.turns WHERE run_id = 'nightly-17'" > turns.csv

Exit codes: 0 ok; 1 the query failed; 2 bad flags or config.`

const FLAGS = { config: { type: 'string' }, format: { type: 'string' }, ...STORE_FLAGS } as const

const FORMATS = ['table', 'json', 'csv'] as const
/** Rows a table shows at most: it has to see them all to align its columns. */
const TABLE_ROWS = 10_000

/** A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value)
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** Each result row (a JSON line) in the chosen format; a table is written at the end. */
function formatter(format: (typeof FORMATS)[number], write: (text: string) => Promise<void>): { row(line: string): Promise<void>; end(): Promise<void> } {
  if (format === 'json') return { row: (line) => write(`${line}\n`), end: async () => {} }
  let columns: string[] | undefined
  if (format === 'csv') {
    return {
      async row(line) {
        const row = JSON.parse(line) as Record<string, unknown>
        if (columns === undefined) {
          columns = Object.keys(row)
          await write(`${columns.map(csvField).join(',')}\r\n`)
        }
        await write(`${columns.map((c) => csvField(row[c])).join(',')}\r\n`)
      },
      end: async () => {},
    }
  }
  const rows: string[][] = []
  let more = 0
  return {
    async row(line) {
      const row = JSON.parse(line) as Record<string, unknown>
      columns ??= Object.keys(row)
      if (rows.length < TABLE_ROWS) rows.push(columns.map((c) => (typeof row[c] === 'object' && row[c] !== null ? JSON.stringify(row[c]) : String(row[c] ?? ''))))
      else more++
    },
    async end() {
      if (columns === undefined) return write('(no rows)\n')
      await write(table(columns, rows))
      if (more > 0) await write(`(${more} more rows: use --format json or csv for all of them)\n`)
    },
  }
}

/** `hopwatch sql` */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, FLAGS, 'sql')
  if (values.help === true) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const statement = positionals.join(' ').trim()
  if (statement === '') throw new CliError('HW_CLI_USAGE', 'give the SQL statement as an argument, e.g. hopwatch sql "SELECT count() FROM hopwatch.hops"')
  const format = stringFlag(values.format) ?? (process.stdout.isTTY ? 'table' : 'json')
  if (!(FORMATS as readonly string[]).includes(format)) throw new CliError('HW_CLI_USAGE', `--format takes ${FORMATS.join(', ')}, got ${JSON.stringify(format)}.${didYouMean(format, FORMATS)}`)
  const write = async (text: string) => {
    if (!process.stdout.write(text)) await new Promise((r) => process.stdout.once('drain', r))
  }
  const out = formatter(format as (typeof FORMATS)[number], write)
  const { query, close } = await storeQuery(values)
  try {
    for await (const line of query(statement)) await out.row(line)
    await out.end()
  } finally {
    await close()
  }
  return 0
}
