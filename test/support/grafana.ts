/**
 * How Grafana and the official ClickHouse data source (grafana-clickhouse-datasource v4) turn a panel's SQL into the
 * statement ClickHouse runs, in the order they do it:
 * 1. the plugin's frontend replaces `$__conditionalAll(condition, $var)` with `1=1` when the variable is All (or an
 *    empty text box), else with the condition;
 * 2. Grafana interpolates variables (`$name`, `${name}`), the plugin formatting a multi-value or All-able one as a
 *    quoted list (`'a','b'`) and any other as its raw text;
 * 3. the plugin's backend (pkg/macros/macros.go) expands the time macros:
 *    `$__timeFilter(c)` → `c >= toDateTime(from) AND c <= toDateTime(to)` (seconds), `$__timeFilter_ms(c)` → the same
 *    with `fromUnixTimestamp64Milli(ms)`, `$__fromTime`/`$__toTime` → `toDateTime(s)`, `$__dateFilter(c)` →
 *    `c >= toDate('YYYY-MM-DD') AND c <= toDate(…)`, `$__timeInterval(c)` → `toStartOfInterval(toDateTime(c),
 *    INTERVAL n second)`, `$__interval_s` → n (at least 1).
 */
export interface GrafanaVariable {
  /** the selected value(s); `all: true` selects every option */
  value: string | string[]
  multi?: boolean
  includeAll?: boolean
  all?: boolean
}

export interface GrafanaContext {
  from: Date
  to: Date
  intervalS: number
  variables: Record<string, GrafanaVariable>
}

/** The macro's arguments: from `open` (just after its parenthesis) to the matching close, split on top-level commas. */
function macroArgs(sql: string, open: number): { args: string[]; end: number } {
  let depth = 1
  let quote = false
  const args: string[] = []
  let start = open
  for (let i = open; i < sql.length; i++) {
    const c = sql[i]
    if (c === "'") quote = !quote
    if (quote) continue
    if (c === '(') depth++
    else if (c === ')') {
      depth--
      if (depth === 0) {
        args.push(sql.slice(start, i).trim())
        return { args, end: i + 1 }
      }
    } else if (c === ',' && depth === 1) {
      args.push(sql.slice(start, i).trim())
      start = i + 1
    }
  }
  throw new Error(`unclosed macro at ${open}: ${sql.slice(open - 20, open + 40)}`)
}

function replaceMacro(sql: string, name: string, expand: (args: string[]) => string): string {
  const token = `$__${name}(`
  let out = sql
  for (let at = out.indexOf(token); at >= 0; at = out.indexOf(token)) {
    const { args, end } = macroArgs(out, at + token.length)
    out = out.slice(0, at) + expand(args) + out.slice(end)
  }
  return out
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000)
const day = (d: Date) => d.toISOString().slice(0, 10)

export function expandGrafanaSql(sql: string, ctx: GrafanaContext): string {
  // 1. $__conditionalAll (the last top-level argument is the variable)
  let out = replaceMacro(sql, 'conditionalAll', (args) => {
    const name = (args[args.length - 1] ?? '').replace(/^\$\{?|\}$/g, '')
    const v = ctx.variables[name]
    if (v === undefined) throw new Error(`$__conditionalAll names no variable: ${name}`)
    const empty = v.all === true || v.value === '' || (Array.isArray(v.value) && v.value.length === 0)
    return empty ? '1=1' : args.slice(0, -1).join(', ')
  })
  // 2. variables
  out = out.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare) as string
    if (name.startsWith('__')) return whole
    const v = ctx.variables[name]
    if (v === undefined) throw new Error(`unknown variable $${name}`)
    if (v.multi === true || v.includeAll === true) return (Array.isArray(v.value) ? v.value : [v.value]).map((x) => `'${x.replace(/'/g, "\\'")}'`).join(',')
    return Array.isArray(v.value) ? v.value.join(',') : v.value
  })
  // 3. the backend's time macros
  const interval = Math.max(1, Math.floor(ctx.intervalS))
  out = replaceMacro(out, 'timeFilter_ms', ([c]) => `${c} >= fromUnixTimestamp64Milli(${ctx.from.getTime()}) AND ${c} <= fromUnixTimestamp64Milli(${ctx.to.getTime()})`)
  out = replaceMacro(out, 'timeFilter', ([c]) => `${c} >= toDateTime(${seconds(ctx.from)}) AND ${c} <= toDateTime(${seconds(ctx.to)})`)
  out = replaceMacro(out, 'dateFilter', ([c]) => `${c} >= toDate('${day(ctx.from)}') AND ${c} <= toDate('${day(ctx.to)}')`)
  out = replaceMacro(out, 'timeInterval_ms', ([c]) => `toStartOfInterval(toDateTime64(${c}, 3), INTERVAL ${interval * 1000} millisecond)`)
  out = replaceMacro(out, 'timeInterval', ([c]) => `toStartOfInterval(toDateTime(${c}), INTERVAL ${interval} second)`)
  out = out.replace(/\$__fromTime_ms\b/g, `fromUnixTimestamp64Milli(${ctx.from.getTime()})`).replace(/\$__toTime_ms\b/g, `fromUnixTimestamp64Milli(${ctx.to.getTime()})`)
  out = out.replace(/\$__fromTime\b/g, `toDateTime(${seconds(ctx.from)})`).replace(/\$__toTime\b/g, `toDateTime(${seconds(ctx.to)})`)
  out = out.replace(/\$__interval_s\b/g, String(interval))
  if (/\$__\w+/.test(out)) throw new Error(`a macro this table does not know: ${/\$__\w+/.exec(out)?.[0]}`)
  return out
}
