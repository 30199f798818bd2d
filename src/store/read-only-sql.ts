/**
 * What the admin API lets a caller run: one read-only statement, and nothing that reaches outside the store. The
 * statement is lexed (strings, quoted identifiers and comments understood, so neither hides a keyword nor fakes one)
 * and refused when it is more than one statement, not a SELECT/WITH/SHOW/DESCRIBE/EXISTS/EXPLAIN, writes a file
 * (INTO OUTFILE), names its own FORMAT or SETTINGS, or calls a table function that reads or writes files, URLs,
 * other servers or programs (file, url, remote, s3, executable, …: a file write and an SSRF were done that way).
 * A SELECT is then run as a subquery under `readonly = 1` and a time limit, so the engine refuses any write even if
 * a statement slipped past the lexer; the settings are a SETTINGS clause of that one query, never a session SET
 * (the embedded engine applies SET to the one session the writer shares).
 */

export interface ReadOnlyLimits {
  /** seconds a query may run (ClickHouse's max_execution_time) */
  maxExecutionS: number
}

export const READ_ONLY_LIMITS: ReadOnlyLimits = { maxExecutionS: 60 }

export class ReadOnlySqlError extends Error {
  readonly code = 'HW_STORE_READ_ONLY'
}

type Token = { kind: 'word' | 'quoted' | 'string' | 'number' | 'punct'; text: string }

/**
 * Table functions that leave the store: files, URLs, object stores, other databases and servers, programs, the
 * request body. Matched case-insensitively as a prefix, so variants (s3Cluster, icebergS3, remoteSecure,
 * clusterAllReplicas, urlCluster, hdfsCluster, azureBlobStorageCluster, …) are refused too.
 */
const OUTSIDE_FUNCTIONS = ['file', 'url', 'remote', 'cluster', 's3', 'gcs', 'oss', 'cosn', 'hdfs', 'azure', 'executable', 'input', 'mysql', 'postgresql', 'jdbc', 'odbc', 'sqlite', 'mongodb', 'redis', 'iceberg', 'deltalake', 'hudi', 'dictionary', 'loop', 'fuzzjson', 'fuzzquery', 'arrowflight', 'ytsaurus', 'paimon', 'prometheusquery', 'timeseries', 'hive']

const FIRST_WORDS = new Set(['select', 'with', 'show', 'describe', 'desc', 'exists', 'explain'])

function lex(sql: string): Token[] {
  const out: Token[] = []
  let i = 0
  const n = sql.length
  while (i < n) {
    const c = sql[i] as string
    if (/\s/.test(c)) {
      i++
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++
    } else if (c === '#' || (c === '/' && sql[i + 1] === '/')) {
      while (i < n && sql[i] !== '\n') i++
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2)
      if (end === -1) throw new ReadOnlySqlError('the statement has an unterminated /* comment')
      i = end + 2
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1
      let text = ''
      for (;;) {
        if (j >= n) throw new ReadOnlySqlError(`the statement has an unterminated ${c === "'" ? 'string' : 'quoted identifier'}`)
        const d = sql[j] as string
        if (d === '\\') {
          text += sql[j + 1] ?? ''
          j += 2
        } else if (d === c && sql[j + 1] === c) {
          text += c
          j += 2
        } else if (d === c) {
          j++
          break
        } else {
          text += d
          j++
        }
      }
      out.push({ kind: c === "'" ? 'string' : 'quoted', text })
      i = j
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j] as string)) j++
      out.push({ kind: 'word', text: sql.slice(i, j) })
      i = j
    } else if (/[0-9]/.test(c)) {
      let j = i + 1
      while (j < n && /[0-9A-Za-z_.]/.test(sql[j] as string)) j++
      out.push({ kind: 'number', text: sql.slice(i, j) })
      i = j
    } else {
      out.push({ kind: 'punct', text: c })
      i++
    }
  }
  return out
}

/** Refuses anything but one read-only statement that stays inside the store; returns it as it will run. */
export function readOnlyStatement(sql: string, limits: ReadOnlyLimits = READ_ONLY_LIMITS): string {
  const tokens = lex(sql)
  // one statement: a trailing semicolon is allowed, anything after one is not
  const semicolon = tokens.findIndex((t) => t.kind === 'punct' && t.text === ';')
  if (semicolon !== -1 && semicolon < tokens.length - 1) throw new ReadOnlySqlError('send one statement: nothing may follow a ";"')
  const body = semicolon === -1 ? tokens : tokens.slice(0, semicolon)
  const first = body[0]
  if (first === undefined) throw new ReadOnlySqlError('the statement is empty')
  const firstWord = first.kind === 'word' ? first.text.toLowerCase() : first.kind === 'punct' && first.text === '(' ? 'select' : ''
  if (!FIRST_WORDS.has(firstWord)) throw new ReadOnlySqlError(`the admin API runs read-only statements (SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN), not ${JSON.stringify(first.text)}`)
  for (let k = 0; k < body.length; k++) {
    const t = body[k] as Token
    const next = body[k + 1]
    const prev = body[k - 1]
    // a qualified name (system.settings) is a table, not a clause
    const qualified = prev?.kind === 'punct' && prev.text === '.'
    if (t.kind === 'word' && !qualified) {
      const word = t.text.toLowerCase()
      if (word === 'into' && next?.kind === 'word' && next.text.toLowerCase() === 'outfile') throw new ReadOnlySqlError('INTO OUTFILE writes a file on the host: not through the admin API')
      if (word === 'outfile') throw new ReadOnlySqlError('INTO OUTFILE writes a file on the host: not through the admin API')
      if (word === 'format' && !(next?.kind === 'punct' && next.text === '(')) throw new ReadOnlySqlError('leave out FORMAT: the admin API answers JSON lines')
      if (word === 'settings') throw new ReadOnlySqlError('leave out SETTINGS: the admin API runs queries read-only with its own limits')
    }
    if ((t.kind === 'word' || t.kind === 'quoted') && next?.kind === 'punct' && next.text === '(') {
      const name = t.text.toLowerCase()
      const outside = OUTSIDE_FUNCTIONS.find((f) => name.startsWith(f))
      // functions, not table functions, share some prefixes (urlEncode…, fileName…): only a call in a FROM/JOIN
      // position or anywhere quoted is a table function for certain, but refusing the prefix everywhere is safer
      // than parsing; the few scalar functions it catches have no use in questions about a run
      if (outside !== undefined) throw new ReadOnlySqlError(`the table function ${t.text}() reaches outside the store: not through the admin API`)
    }
  }
  const statement = body.length === tokens.length ? sql : sql.slice(0, sql.lastIndexOf(';'))
  if (firstWord === 'select' || firstWord === 'with') {
    // a subquery so that the limits apply to the whole statement (a UNION included); max_execution_time first,
    // since readonly = 1 forbids changing settings after it
    return `SELECT * FROM (\n${statement}\n) SETTINGS max_execution_time = ${Math.floor(limits.maxExecutionS)}, readonly = 1`
  }
  return statement
}
