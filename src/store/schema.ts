import { identifier } from './sql.js'

/** What the connected engine supports beyond the 18.x baseline. */
export interface Capabilities {
  lowCardinality: boolean
}

/** Parses `version()` into what the schema may use: LowCardinality is production-ready from 19.x. */
export function capabilitiesOf(version: string): Capabilities {
  const major = Number.parseInt(version.split('.')[0] ?? '0', 10)
  return { lowCardinality: major >= 19 }
}

type ColumnType = 'String' | 'Label' | 'Int64' | 'UInt8' | 'UInt16' | 'UInt32' | 'UInt64' | 'Float64'

/** name, type, and the migration that added it (1 when absent) */
type Column = readonly [string, ColumnType] | readonly [string, ColumnType, number]

interface Table {
  name: string
  columns: readonly Column[]
  /** the column whose microseconds decide the monthly partition */
  timeColumn: string
  orderBy: string
  /** the columns that tell one row from another: how a replay finds rows a failed insert may have stored already */
  key: readonly string[]
  /** ReplacingMergeTree version column, for tables whose rows are updated by re-inserting them */
  replacingBy?: string
  /** the migration that created the table (1 when absent) */
  since?: number
}

/** The tables every engine gets. `Label` is a low-cardinality string (LowCardinality where the engine has it). */
export const TABLES: readonly Table[] = [
  {
    name: 'runs',
    columns: [
      ['run_id', 'String'], ['name', 'String'], ['source', 'Label'], ['started_us', 'Int64'], ['ended_us', 'Int64'],
      ['hopwatch_version', 'Label'], ['config_json', 'String'], ['updated_us', 'Int64'],
    ],
    timeColumn: 'started_us',
    orderBy: 'run_id',
    key: ['run_id', 'updated_us'],
    replacingBy: 'updated_us',
  },
  {
    name: 'hops',
    columns: [
      ['run_id', 'String'], ['conversation_id', 'String'], ['turn', 'UInt32'], ['hop_id', 'String'],
      ['component', 'Label'], ['upstream', 'Label'], ['instance', 'Label'], ['adapter', 'Label'], ['transport', 'Label'],
      ['method', 'Label'], ['route', 'String'], ['model', 'Label'],
      ['start_us', 'Int64'], ['request_end_us', 'Int64'], ['response_start_us', 'Int64'], ['first_byte_us', 'Int64'],
      ['first_payload_us', 'Int64'], ['final_us', 'Int64'], ['end_us', 'Int64'],
      ['status', 'UInt16'], ['error_kind', 'Label'], ['bytes_in', 'UInt64'], ['bytes_out', 'UInt64'],
      ['tokens_in', 'UInt32'], ['tokens_out', 'UInt32'], ['audio_ms', 'UInt32'], ['in_flight', 'UInt32'],
      ['trace_id', 'String'], ['parent_span_id', 'String'],
      // a request that is not the component's work (GET /v1/models): recorded, never judged
      ['auxiliary', 'UInt8', 5],
      // which proxy recorded it: a run may be recorded by a proxy per agent pod
      ['proxy', 'Label', 7],
    ],
    timeColumn: 'start_us',
    orderBy: '(run_id, component, upstream, start_us)',
    key: ['run_id', 'hop_id'],
  },
  {
    name: 'turns',
    columns: [
      ['run_id', 'String'], ['conversation_id', 'String'], ['turn', 'UInt32'], ['scenario', 'Label'], ['step', 'UInt32'],
      ['architecture', 'Label'], ['user_start_us', 'Int64'], ['user_end_us', 'Int64'], ['first_audio_us', 'Int64'],
      ['end_us', 'Int64'], ['success', 'UInt8'], ['interrupted', 'UInt8'], ['hung_up', 'UInt8'], ['wer', 'Float64'],
      ['error_kind', 'Label'], ['hop_count', 'UInt32'],
      // how late the conversation started against its schedule (coordinated omission shows here), and who called
      ['late_us', 'Int64', 2], ['persona', 'Label', 2], ['transcript', 'String', 2],
    ],
    timeColumn: 'user_start_us',
    orderBy: '(run_id, step, conversation_id, turn)',
    key: ['run_id', 'conversation_id', 'turn'],
  },
  {
    name: 'steps',
    columns: [
      ['run_id', 'String'], ['step', 'UInt32'], ['phase', 'Label'], ['load_model', 'Label'], ['target_load', 'Float64'],
      ['achieved_load', 'Float64'], ['start_us', 'Int64'], ['end_us', 'Int64'],
      // the generator's own health in the step, so its limits are never blamed on the system
      ['shard', 'Label', 2], ['started', 'UInt32', 2], ['late_starts', 'UInt32', 2], ['dropped_starts', 'UInt32', 2],
      ['lateness_p99_ms', 'Float64', 2], ['generator_lag_p99_ms', 'Float64', 2], ['generator_cpu', 'Float64', 2],
      ['generator_limited', 'UInt8', 2],
      // whether the step is evidence: '' when valid, else why not (the generator or the host was the limit)
      ['invalid_reason', 'String', 4], ['host_cpu', 'Float64', 4],
    ],
    timeColumn: 'start_us',
    orderBy: '(run_id, step)',
    key: ['run_id', 'step', 'shard'],
  },
  {
    name: 'resource_samples',
    columns: [
      ['run_id', 'String'], ['at_us', 'Int64'], ['target', 'Label'], ['kind', 'Label'], ['metric', 'Label'], ['value', 'Float64'],
    ],
    timeColumn: 'at_us',
    orderBy: '(run_id, target, metric, at_us)',
    key: ['run_id', 'target', 'metric', 'at_us'],
  },
  {
    name: 'alerts',
    columns: [
      ['run_id', 'String'], ['at_us', 'Int64'], ['rule', 'Label'], ['state', 'Label'], ['severity', 'Label'],
      ['component', 'Label'], ['value', 'Float64'], ['threshold', 'Float64'], ['message', 'String'],
    ],
    timeColumn: 'at_us',
    orderBy: '(run_id, at_us)',
    key: ['run_id', 'at_us', 'rule', 'state', 'component'],
  },
  {
    // spans an agent sent to the receiver (POST /v1/traces); attributes and events as JSON
    name: 'spans',
    columns: [
      ['run_id', 'String'], ['trace_id', 'String'], ['span_id', 'String'], ['parent_span_id', 'String'], ['name', 'String'],
      ['kind', 'UInt8'], ['service', 'Label'], ['scope', 'Label'], ['start_us', 'Int64'], ['end_us', 'Int64'],
      ['status_code', 'UInt8'], ['status_message', 'String'], ['attributes', 'String'], ['events', 'String'],
      ['framework', 'Label'], ['role', 'Label'], ['component', 'Label'], ['conversation_id', 'String'], ['turn', 'UInt32'],
      ['joined_hop_id', 'String'],
    ],
    timeColumn: 'start_us',
    orderBy: '(run_id, trace_id, start_us)',
    key: ['run_id', 'trace_id', 'span_id'],
    since: 3,
  },
]

export type TableName = 'runs' | 'hops' | 'turns' | 'steps' | 'resource_samples' | 'alerts' | 'spans'

/** A table's key (`Table.key`), as the store holds it: a column a row leaves out has its type's default. */
export interface TableKey {
  columns: readonly string[]
  /** a row's key values: numbers for numeric columns, strings for the others */
  values(row: object): Array<number | string>
  /** a row's key as text: equal for a row and the same row read back from the store */
  text(row: object): string
}

export function keyOf(table: string): TableKey {
  const spec = tableOf(table)
  const numeric = spec.key.map((name) => isNumeric(columnOf(spec, name)[1]))
  const values = (row: object): Array<number | string> => {
    const r = row as Record<string, unknown>
    return spec.key.map((name, i) => (numeric[i] ? Number(r[name] ?? 0) : String(r[name] ?? '')))
  }
  return { columns: spec.key, values, text: (row) => JSON.stringify(values(row).map(String)) }
}

export function tableOf(name: string): Table {
  const table = TABLES.find((t) => t.name === name)
  if (table === undefined) throw new Error(`no table ${name} in the schema`)
  return table
}

function columnOf(table: Table, name: string): Column {
  const column = table.columns.find((c) => c[0] === name)
  if (column === undefined) throw new Error(`no column ${name} in ${table.name}`)
  return column
}

/** Whether a column holds a number (every type but String and Label). */
export function isNumeric(type: ColumnType): boolean {
  return type !== 'String' && type !== 'Label'
}

function columnType(type: ColumnType, caps: Capabilities): string {
  if (type !== 'Label') return type
  return caps.lowCardinality ? 'LowCardinality(String)' : 'String'
}

/** CREATE TABLE statement for one table, using only what the engine supports. */
export function createTableSql(database: string, table: Table, caps: Capabilities): string {
  const columns = table.columns.filter((c) => (c[2] ?? 1) === 1).map(([name, type]) => `  ${name} ${columnType(type, caps)}`)
  // MATERIALIZED: computed on every insert, so writers never send it and 18.x needs no input_format_defaults_for_omitted_fields
  columns.push(`  date Date MATERIALIZED toDate(toDateTime(intDiv(${table.timeColumn}, 1000000)))`)
  const engine = table.replacingBy !== undefined ? `ReplacingMergeTree(${table.replacingBy})` : 'MergeTree()'
  return [
    `CREATE TABLE IF NOT EXISTS ${identifier(database)}.${identifier(table.name)} (`,
    columns.join(',\n'),
    `) ENGINE = ${engine} PARTITION BY toYYYYMM(date) ORDER BY ${table.orderBy}`,
  ].join('\n')
}

/**
 * Ordered migrations. Each is idempotent (IF NOT EXISTS), and the applied ones are recorded in
 * `schema_migrations`, so running them again on any engine is safe. Append, never edit, once released.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; description: string; statements: (db: string, caps: Capabilities) => string[] }> = [
  {
    version: 1,
    description: 'runs, hops, turns, steps, resource_samples, alerts',
    statements: (db, caps) => TABLES.filter((t) => (t.since ?? 1) === 1).map((t) => createTableSql(db, t, caps)),
  },
  {
    version: 2,
    description: 'turns: start lateness, persona, transcript; steps: shard and the generator\'s own health',
    statements: (db, caps) => addedColumns(db, caps, 2),
  },
  {
    version: 3,
    description: 'spans: what agents send to the OTLP receiver',
    statements: (db, caps) => TABLES.filter((t) => t.since === 3).map((t) => createTableSql(db, t, caps)),
  },
  {
    version: 4,
    description: 'steps: whether each step is valid evidence, and the host\'s CPU',
    statements: (db, caps) => addedColumns(db, caps, 4),
  },
  {
    version: 5,
    description: 'hops: whether a hop is auxiliary (not the component\'s work, never judged)',
    statements: (db, caps) => addedColumns(db, caps, 5),
  },
  {
    version: 6,
    description: 'every table: `time`, a DateTime of its time column, for Grafana\'s time macros',
    statements: (db) => TABLES.map((t) => `ALTER TABLE ${identifier(db)}.${identifier(t.name)} ADD COLUMN ${timeAliasSql(t)}`),
  },
  {
    version: 7,
    description: 'hops: the proxy that recorded each (one run, several proxies)',
    statements: (db, caps) => addedColumns(db, caps, 7),
  },
]

/**
 * \`time\`: the table's time column (µs) as a DateTime, for dashboards (Grafana's $__timeFilter and $__timeInterval
 * take a DateTime column). An ALIAS: computed when read, so writers send nothing and recording costs nothing more;
 * \`SELECT *\` leaves it out. Seconds only: 18.x has no DateTime64, and a dashboard's slices are seconds or more.
 */
export function timeAliasSql(table: Table): string {
  return `time DateTime ALIAS toDateTime(intDiv(${table.timeColumn}, 1000000))`
}

/** ALTER TABLE … ADD COLUMN for the columns a migration added (18.x has no ADD COLUMN IF NOT EXISTS: migrations run once). */
function addedColumns(db: string, caps: Capabilities, version: number): string[] {
  return TABLES.flatMap((t) =>
    t.columns
      .filter((c) => c[2] === version)
      .map(([name, type]) => `ALTER TABLE ${identifier(db)}.${identifier(t.name)} ADD COLUMN ${name} ${columnType(type, caps)}`),
  )
}
