import { openStore, queryJsonLines, readOwner } from '../../store/index.js'
import { CliError } from '../errors.js'
import { parseFlags } from '../args.js'
import { loadStoreConfig, STORE_FLAGS, STORE_FLAGS_HELP, storeTarget } from '../store-access.js'

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
  const config = await loadStoreConfig(values)
  const target = storeTarget(config)

  if (target.kind === 'embedded') {
    const owner = await readOwner(target.dir)
    if (owner !== undefined) {
      const viaOwner = await throughOwner(owner.admin_url, statement)
      if (viaOwner !== undefined) return viaOwner
    }
  }
  const store = await openStore(target, config.database)
  try {
    for await (const line of queryJsonLines(store, statement)) {
      if (!process.stdout.write(`${line}\n`)) await new Promise((r) => process.stdout.once('drain', r))
    }
  } finally {
    await store.close()
  }
  return 0
}

/** Runs the statement through the owning process; undefined when it does not answer (a stale owner file). */
async function throughOwner(adminUrl: string, statement: string): Promise<number | undefined> {
  let res: Response
  try {
    res = await fetch(`${adminUrl}/_hopwatch/sql`, { method: 'POST', body: statement, headers: { 'content-type': 'text/plain' } })
  } catch {
    return undefined
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } }
    process.stderr.write(`hopwatch: ${body.error?.code ?? res.status}: ${body.error?.message ?? res.statusText}\n`)
    return 1
  }
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r))
  }
  return 0
}
