import { CliError } from '../errors.js'
import { parseFlags } from '../args.js'
import { STORE_FLAGS, STORE_FLAGS_HELP, storeQuery } from '../store-access.js'

export const usage = `Usage: hopwatch sql "SELECT …" [--config hopwatch.yaml] [store flags]

Runs one SQL statement on the store and prints each result row as a JSON line.
Tables live in the database "hopwatch" (or --clickhouse-database): name them as hopwatch.hops, hopwatch.runs, …
When a hopwatch process owns the embedded store, the query goes through its admin API; otherwise the
directory is opened directly.

${STORE_FLAGS_HELP}

Exit codes: 0 ok; 1 the query failed; 2 bad flags or config.`

const FLAGS = { config: { type: 'string' }, ...STORE_FLAGS } as const

/** `hopwatch sql` */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, FLAGS, 'sql')
  if (values.help === true) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const statement = positionals.join(' ').trim()
  if (statement === '') throw new CliError('HW_CLI_USAGE', 'give the SQL statement as an argument, e.g. hopwatch sql "SELECT count() FROM hopwatch.hops"')
  const { query, close } = await storeQuery(values)
  try {
    for await (const line of query(statement)) {
      if (!process.stdout.write(`${line}\n`)) await new Promise((r) => process.stdout.once('drain', r))
    }
  } finally {
    await close()
  }
  return 0
}
