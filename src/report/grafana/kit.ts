/**
 * The pieces of a Grafana dashboard for the official ClickHouse data source (`grafana-clickhouse-datasource`, v4):
 * a templated data source on every panel, query and annotation, SQL targets, panels laid out on the 24-column grid.
 * The dashboards are built from code (src/report/grafana/dashboards.ts) so their SQL shares the one latency and
 * percentile definition with the analyzer; `npm run dashboards` writes dashboards/*.json.
 */

export const PLUGIN = 'grafana-clickhouse-datasource'
/** Every panel, target, variable query and annotation names its data source through the `datasource` variable. */
export const DATASOURCE = { type: PLUGIN, uid: '${datasource}' } as const

export type QueryType = 'timeseries' | 'table'

export interface Target {
  refId: string
  datasource: typeof DATASOURCE
  editorType: 'sql'
  /** the plugin's result format: 0 time series, 1 table */
  format: 0 | 1
  queryType: QueryType
  rawSql: string
}

export function target(rawSql: string, queryType: QueryType, refId = 'A'): Target {
  return { refId, datasource: DATASOURCE, editorType: 'sql', format: queryType === 'timeseries' ? 0 : 1, queryType, rawSql: rawSql.trim().replace(/\n\s+/g, '\n  ') }
}

export type PanelType = 'stat' | 'timeseries' | 'heatmap' | 'table' | 'barchart' | 'xychart' | 'row'

export interface Panel {
  id: number
  type: PanelType
  title: string
  description?: string
  datasource?: typeof DATASOURCE
  gridPos: { h: number; w: number; x: number; y: number }
  fieldConfig?: { defaults: Record<string, unknown>; overrides: unknown[] }
  options?: Record<string, unknown>
  targets?: Target[]
  repeat?: string
  repeatDirection?: 'h' | 'v'
  collapsed?: boolean
  panels?: Panel[]
}

export interface PanelSpec {
  type: Exclude<PanelType, 'row'>
  title: string
  description: string
  /** Grafana's unit id: ms, percentunit, bytes, short, none, … */
  unit: string
  sql: string
  queryType: QueryType
  /** columns out of 24 (default 12) and height in grid rows (default 8) */
  w?: number
  h?: number
  options?: Record<string, unknown>
  custom?: Record<string, unknown>
}

/** Lays panels out left to right, top to bottom, and numbers them. */
export class Layout {
  private id = 0
  private x = 0
  private y = 0
  private rowH = 0
  readonly panels: Panel[] = []

  add(spec: PanelSpec): this {
    const w = spec.w ?? 12
    const h = spec.h ?? 8
    if (this.x + w > 24) this.newLine()
    this.panels.push({
      id: ++this.id,
      type: spec.type,
      title: spec.title,
      description: spec.description,
      datasource: DATASOURCE,
      gridPos: { h, w, x: this.x, y: this.y },
      fieldConfig: { defaults: { unit: spec.unit, ...(spec.custom !== undefined ? { custom: spec.custom } : {}) }, overrides: [] },
      options: spec.options ?? {},
      targets: [target(spec.sql, spec.queryType)],
    })
    this.x += w
    this.rowH = Math.max(this.rowH, h)
    return this
  }

  /** A row header; with `repeat`, Grafana repeats the row and the panels under it once per selected value. */
  row(title: string, repeat?: string): this {
    this.newLine()
    this.panels.push({ id: ++this.id, type: 'row', title, gridPos: { h: 1, w: 24, x: 0, y: this.y }, collapsed: false, panels: [], ...(repeat !== undefined ? { repeat } : {}) })
    this.y += 1
    return this
  }

  private newLine(): void {
    this.y += this.rowH
    this.x = 0
    this.rowH = 0
  }
}

export interface Variable {
  type: 'datasource' | 'query' | 'textbox' | 'constant'
  name: string
  label?: string
  query: string | Record<string, unknown>
  datasource?: typeof DATASOURCE
  multi?: boolean
  includeAll?: boolean
  /** 0 shown, 2 hidden */
  hide?: 0 | 2
  /** query variables: 1 on dashboard load, 2 on time range change */
  refresh?: 1 | 2
  /** 0: in the order the query returns them */
  sort?: 0
  definition?: string
}

/** The data source variable every dashboard starts with. */
export const datasourceVariable: Variable = { type: 'datasource', name: 'datasource', label: 'ClickHouse', query: PLUGIN, hide: 0 }

/** The store's database, as a constant a user edits once (store.database in hopwatch.yaml). */
export const databaseVariable: Variable = { type: 'constant', name: 'database', query: 'hopwatch', hide: 2 }

export function queryVariable(name: string, label: string, sql: string, options: { multi?: boolean; includeAll?: boolean } = {}): Variable {
  return { type: 'query', name, label, datasource: DATASOURCE, query: { rawSql: sql, editorType: 'sql', format: 1, queryType: 'table' }, definition: sql, refresh: 2, sort: 0, ...(options.multi === true ? { multi: true } : {}), ...(options.includeAll === true ? { includeAll: true } : {}), hide: 0 }
}

export interface Annotation {
  name: string
  datasource: typeof DATASOURCE
  enable: boolean
  iconColor: string
  target: Target
}

export function annotation(name: string, color: string, sql: string): Annotation {
  return { name, datasource: DATASOURCE, enable: true, iconColor: color, target: target(sql, 'table') }
}

export interface Dashboard {
  uid: string
  title: string
  description: string
  tags: string[]
  schemaVersion: number
  version: number
  editable: boolean
  time: { from: string; to: string }
  timezone: string
  refresh: string
  templating: { list: Variable[] }
  annotations: { list: Annotation[] }
  panels: Panel[]
}

export function dashboard(uid: string, title: string, description: string, variables: Variable[], annotations: Annotation[], layout: Layout): Dashboard {
  return {
    uid,
    title,
    description,
    tags: ['hopwatch'],
    schemaVersion: 39,
    version: 1,
    editable: true,
    time: { from: 'now-6h', to: 'now' },
    timezone: 'browser',
    refresh: '',
    templating: { list: variables },
    annotations: { list: annotations },
    panels: layout.panels,
  }
}
