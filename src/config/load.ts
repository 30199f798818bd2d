import { readFile } from 'node:fs/promises'
import { parseDocument } from 'yaml'
import { ConfigError, formatProblems } from './errors.js'
import { checkStore, checkUpstreams, configSchema, storeSchema, type HopwatchConfig, type StoreConfig } from './schema.js'
import type { Context } from './validate.js'
import { alertsSchema, checkResources, type AlertsConfig } from './watch-schema.js'

/** A value given on the command line for a dotted config path, e.g. `proxy.port` → 9000. */
export type Overrides = Record<string, unknown>

export interface LoadOptions {
  /** adapter names the proxy knows (from its registry) */
  adapters: readonly string[]
  overrides?: Overrides
  env?: NodeJS.ProcessEnv
}

/** Reads and validates a YAML config file; every problem is reported at once in one ConfigError. */
export async function loadConfigFile(path: string, options: LoadOptions): Promise<HopwatchConfig> {
  return parseConfig(await readConfigText(path), path, options)
}

export async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError('HW_CONFIG_NOT_FOUND', `cannot read config ${path}: ${(err as Error).message}. Pass --config PATH to an existing hopwatch.yaml, or run \`hopwatch init\` to write one.`, [], { cause: err })
  }
}

/** Parses and validates config text; `source` names it in messages. */
export function parseConfig(text: string, source: string, options: LoadOptions): HopwatchConfig {
  return validateConfig(parseYaml(text, source), source, options)
}

/** Parses YAML text, or throws HW_CONFIG_YAML with the line and column of the first error. */
export function parseYaml(text: string, source: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const first = doc.errors[0]
    throw new ConfigError('HW_CONFIG_YAML', `${source} is not valid YAML: ${first?.message ?? 'unknown error'}`)
  }
  return doc.toJS() ?? {}
}

/** Validates a parsed config object (overrides applied first), returning a frozen, fully-defaulted config. */
export function validateConfig(raw: unknown, source: string, options: LoadOptions): HopwatchConfig {
  const doc = prepare(raw, options)
  const ctx: Context = { problems: [] }
  const config = configSchema(options.adapters)(doc, '', ctx)
  // checks across fields run in the same pass, so every problem is told at once; one about a field already found
  // wrong (whose value is then a stand-in) would only repeat it, and is left out
  const cross: Context = { problems: [] }
  checkUpstreams(config, cross)
  checkResources(config.resources, cross)
  checkStore(config.store, cross)
  // the fields the cross checks read, or a key misspelt inside: a problem about them together repeats that one
  const repeats = (w: { path: string; message: string }, path: string) =>
    w.path === path || (w.path.startsWith(`${path}.`) && (/\.(?:name|prefix|port|process|pid|match)$/.test(w.path) || w.message === 'is not a known setting'))
  const found = [...ctx.problems]
  for (const p of cross.problems) if (!found.some((w) => repeats(w, p.path))) ctx.problems.push(p)
  if (ctx.problems.length > 0) throw new ConfigError('HW_CONFIG_INVALID', formatProblems(source, ctx.problems), ctx.problems)
  return deepFreeze(config)
}

/** Validates only the `store:` section of a parsed config (for commands that need nothing else). */
export function validateStoreConfig(raw: unknown, source: string, options: Omit<LoadOptions, 'adapters'>): StoreConfig {
  const doc = prepare(raw, options)
  const ctx: Context = { problems: [] }
  const store = storeSchema()(doc.store, 'store', ctx)
  if (ctx.problems.length === 0) checkStore(store, ctx)
  if (ctx.problems.length > 0) throw new ConfigError('HW_CONFIG_INVALID', formatProblems(source, ctx.problems), ctx.problems)
  return deepFreeze(store)
}

/** Validates only the `alerts:` section of a parsed config (hopwatch alerts rules). */
export function validateAlertsConfig(raw: unknown, source: string): AlertsConfig {
  const doc = prepare(raw, {})
  const ctx: Context = { problems: [] }
  const alerts = alertsSchema()(doc.alerts, 'alerts', ctx)
  if (ctx.problems.length > 0) throw new ConfigError('HW_CONFIG_INVALID', formatProblems(source, ctx.problems), ctx.problems)
  return deepFreeze(alerts)
}

/** A copy of the document with command-line overrides and the password from the environment applied. */
function prepare(raw: unknown, options: Omit<LoadOptions, 'adapters'>): Record<string, unknown> {
  const doc = structuredClone(raw ?? {}) as Record<string, unknown>
  for (const [path, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) setPath(doc, path, value)
  }
  const password = (options.env ?? process.env).HOPWATCH_CLICKHOUSE_PASSWORD
  const store = doc.store as Record<string, unknown> | undefined
  const clickhouse = store?.clickhouse as Record<string, unknown> | undefined
  if (password !== undefined && clickhouse !== undefined && clickhouse.password === undefined) clickhouse.password = password
  return doc
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.')
  let node = target
  for (const key of keys.slice(0, -1)) {
    const next = node[key]
    if (next === undefined || next === null || typeof next !== 'object') node[key] = {}
    node = node[key] as Record<string, unknown>
  }
  node[keys[keys.length - 1] as string] = value
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}
