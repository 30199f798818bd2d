import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { after, before, describe, test } from 'node:test'
import { dashboards } from '../../src/report/grafana/dashboards.js'
import { PLUGIN, type Dashboard, type Panel, type Target, type Variable } from '../../src/report/grafana/kit.js'
import { queryJsonLines, type Store } from '../../src/store/index.js'
import { ENGINES, type EngineUnderTest } from '../support/engines.js'
import { expandGrafanaSql, type GrafanaContext, type GrafanaVariable } from '../support/grafana.js'
import { AMPLE_SERVICES, storeSeededRun, type SeededRun, storeFiredAlert } from '../support/seeded-runs.js'

const DIR = new URL('../../../dashboards/', import.meta.url)
const BUILT = dashboards()

/** Every SQL statement of a dashboard with where it sits: panels, annotations and variable queries. */
function statements(d: Dashboard): Array<{ where: string; sql: string; panel?: Panel; variable?: Variable }> {
  const out: Array<{ where: string; sql: string; panel?: Panel; variable?: Variable }> = []
  for (const p of d.panels) for (const t of p.targets ?? []) out.push({ where: `panel ${p.id} "${p.title}"`, sql: t.rawSql, panel: p })
  for (const a of d.annotations.list) out.push({ where: `annotation "${a.name}"`, sql: a.target.rawSql })
  for (const v of d.templating.list) if (v.type === 'query' && typeof v.query === 'object') out.push({ where: `variable ${v.name}`, sql: String(v.query.rawSql), variable: v })
  return out
}

test('the committed dashboards/*.json are what src/report/grafana writes (npm run dashboards)', async () => {
  const files = (await readdir(DIR)).filter((f) => f.endsWith('.json')).sort()
  assert.deepEqual(files, Object.keys(BUILT).sort())
  for (const [file, built] of Object.entries(BUILT)) assert.equal(await readFile(new URL(file, DIR), 'utf8'), `${JSON.stringify(built, null, 2)}\n`, `${file} is stale: npm run dashboards`)
})

test('dashboard lint: the data source templated everywhere, unique ids and titles, a unit on every panel, every variable used', () => {
  for (const [file, d] of Object.entries(BUILT)) {
    const ds = d.templating.list.find((v) => v.type === 'datasource')
    assert.deepEqual([ds?.name, ds?.query], ['datasource', PLUGIN], file)
    const refs: Array<[string, unknown]> = [
      ...d.panels.filter((p) => p.type !== 'row').map((p): [string, unknown] => [`panel ${p.id}`, p.datasource]),
      ...d.panels.flatMap((p) => (p.targets ?? []).map((t: Target): [string, unknown] => [`panel ${p.id} target ${t.refId}`, t.datasource])),
      ...d.annotations.list.flatMap((a): Array<[string, unknown]> => [[`annotation ${a.name}`, a.datasource], [`annotation ${a.name} target`, a.target.datasource]]),
      ...d.templating.list.filter((v) => v.type === 'query').map((v): [string, unknown] => [`variable ${v.name}`, v.datasource]),
    ]
    for (const [where, ref] of refs) assert.deepEqual(ref, { type: PLUGIN, uid: '${datasource}' }, `${file}: ${where}`)
    const ids = d.panels.map((p) => p.id)
    assert.equal(new Set(ids).size, ids.length, `${file}: panel ids repeat`)
    const titles = d.panels.filter((p) => p.type !== 'row').map((p) => p.title)
    assert.ok(titles.every((t) => t.trim() !== ''), `${file}: a panel without a title`)
    assert.equal(new Set(titles).size, titles.length, `${file}: titles repeat`)
    for (const p of d.panels.filter((x) => x.type !== 'row')) {
      assert.ok(typeof p.fieldConfig?.defaults.unit === 'string' && p.fieldConfig.defaults.unit !== '', `${file}: panel ${p.id} has no unit`)
      assert.ok((p.description ?? '') !== '', `${file}: panel ${p.id} has no description`)
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${file}: panel ${p.id} overflows the grid`)
    }
    const used = [...statements(d).map((s) => s.sql), ...d.panels.map((p) => p.repeat ?? '')].join('\n')
    for (const v of d.templating.list) {
      if (v.type === 'datasource') continue
      assert.ok(new RegExp(`\\$\\{?${v.name}\\b|^${v.name}$`, 'm').test(used), `${file}: variable ${v.name} is never used`)
    }
    for (const s of statements(d)) {
      assert.doesNotMatch(s.sql, /\bhopwatch\.\w+/, `${file}: ${s.where} names the database instead of \${database}`)
      if (s.panel !== undefined || s.where.startsWith('annotation')) assert.match(s.sql, /\$__timeFilter\(time\)/, `${file}: ${s.where} ignores the time range`)
    }
  }
})

test('the macro table expands as the plugin does', () => {
  const ctx: GrafanaContext = {
    from: new Date('2027-01-15T08:00:00Z'),
    to: new Date('2027-01-15T09:00:00.250Z'),
    intervalS: 20.7,
    variables: { run_id: { value: 'r1' }, component: { value: ['llm', 'tts'], multi: true, includeAll: true }, upstream: { value: [], multi: true, includeAll: true, all: true }, conversation_id: { value: '' } },
  }
  const sql = "SELECT $__timeInterval(time) AS t FROM x WHERE run_id = '${run_id}' AND $__timeFilter(time) AND component IN (${component}) AND $__conditionalAll(upstream IN (${upstream}), $upstream) AND $__conditionalAll(c = '${conversation_id}', $conversation_id) AND n = $__interval_s"
  assert.equal(
    expandGrafanaSql(sql, ctx),
    "SELECT toStartOfInterval(toDateTime(time), INTERVAL 20 second) AS t FROM x WHERE run_id = 'r1' AND time >= toDateTime(1800000000) AND time <= toDateTime(1800003600) AND component IN ('llm','tts') AND 1=1 AND 1=1 AND n = 20",
  )
  assert.equal(expandGrafanaSql('$__conditionalAll(c = 1, $run_id)', ctx), 'c = 1', 'a chosen value keeps the condition')
})

/** A ramp whose LLM queue is capped (429s: errors to show), with memory samples and a fired alert. */
const RUN: SeededRun = {
  runId: 'grafana-run',
  seed: 2,
  steps: [8, 12, 18, 27].map((load) => ({ load, phase: 'ramp', seconds: 120 })),
  services: { ...AMPLE_SERVICES, llm: { workers: 6, latency: { median_ms: 350, p95_ms: 600 }, holdMs: 1200, queueCap: 6 } },
  toolShare: 0.4,
  memory: { mbPerHour: 100, seconds: 480 },
}

type Row = Record<string, unknown>
const DATETIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/
const isNumber = (v: unknown) => typeof v === 'number' || v === null

/** What each panel type needs from its rows. */
function assertShape(type: string, rows: Row[], where: string): void {
  assert.ok(rows.length > 0, `${where}: no rows`)
  const first = rows[0] as Row
  const values = Object.values(first)
  const numeric = values.filter(isNumber).length
  switch (type) {
    case 'stat':
      assert.ok(values.length > 0 && values.every(isNumber) && values.some((v) => typeof v === 'number'), `${where}: a stat needs numbers, got ${JSON.stringify(first)}`)
      break
    case 'timeseries':
    case 'heatmap':
      for (const r of rows) assert.match(String(Object.values(r)[0]), DATETIME, `${where}: the first column must be a DateTime`)
      assert.ok(numeric >= 1 && rows.some((r) => Object.values(r).some((v) => typeof v === 'number')), `${where}: no numeric field in ${JSON.stringify(first)}`)
      break
    case 'barchart':
      assert.equal(typeof values[0], 'string', `${where}: a bar chart's first column labels the bars`)
      assert.ok(numeric >= 1, `${where}: no numeric field`)
      break
    case 'xychart':
      assert.ok(numeric >= 2, `${where}: an x/y chart needs two numeric columns, got ${JSON.stringify(first)}`)
      break
    case 'table':
      assert.ok(values.length >= 2, `${where}: a table of one column`)
      break
    case 'annotation':
      assert.match(String(first.time), DATETIME, `${where}: time`)
      assert.equal(typeof first.text, 'string', `${where}: text`)
      break
    case 'variable':
      assert.equal(typeof values[0], 'string', `${where}: a variable's values are strings`)
      break
    default:
      assert.fail(`${where}: no shape known for ${type}`)
  }
}

for (const makeEngine of ENGINES) {
  const engineName = makeEngine === ENGINES[0] ? 'the embedded engine' : "Debian's ClickHouse 18.16 server"
  describe(`every dashboard query, expanded as the plugin does, on ${engineName}`, () => {
    let engine: EngineUnderTest
    let store: Store
    let from: Date
    let to: Date
    let seededTurns = 0
    before(async () => {
      engine = await makeEngine()
      store = await engine.open()
      const rows = await storeSeededRun(store, RUN)
      seededTurns = rows.turns.length
      from = new Date(Math.floor((rows.steps[0]?.start_us ?? 0) / 1000) - 1000)
      to = new Date(Math.ceil(Math.max(...rows.hops.map((h) => h.end_us)) / 1000) + 1000)
      await storeFiredAlert(store, RUN.runId, (rows.steps[2]?.start_us ?? 0) + 3_000_000, 30_000_000)
    })
    after(() => engine.dispose())

    const run = async (sql: string): Promise<Row[]> => {
      const out: Row[] = []
      for await (const line of queryJsonLines(store, sql)) out.push(JSON.parse(line) as Row)
      return out
    }

    /** The variables' values as a user who picks the run and leaves the rest at All sees them, each query run in turn. */
    async function context(d: Dashboard, pick: Record<string, GrafanaVariable> = {}): Promise<GrafanaContext> {
      const ctx: GrafanaContext = { from, to, intervalS: Math.max(1, Math.round((to.getTime() - from.getTime()) / 1000 / 100)), variables: {} }
      for (const v of d.templating.list) {
        if (v.type === 'datasource') continue
        if (v.type === 'constant') ctx.variables[v.name] = { value: String(v.query) }
        else if (v.type === 'textbox') ctx.variables[v.name] = { value: '' }
        else {
          const rows = await run(expandGrafanaSql(String((v.query as { rawSql: string }).rawSql), ctx))
          assertShape('variable', rows, `variable ${v.name}`)
          const options = rows.map((r) => String(Object.values(r)[0]))
          ctx.variables[v.name] = v.name === 'run_id' ? { value: RUN.runId } : { value: options, multi: v.multi === true, includeAll: v.includeAll === true, all: true }
          if (v.name === 'run_id') assert.ok(options.includes(RUN.runId), `the run list lacks ${RUN.runId}: ${options.join(', ')}`)
        }
        Object.assign(ctx.variables, pick[v.name] !== undefined ? { [v.name]: pick[v.name] } : {})
      }
      return ctx
    }

    for (const [file, d] of Object.entries(BUILT)) {
      test(`${file}: every panel and annotation returns the columns its type needs, and rows`, async () => {
        const ctx = await context(d)
        const components = ctx.variables.component?.value
        let repeated = false
        for (const p of d.panels) {
          if (p.type === 'row') {
            repeated = p.repeat !== undefined
            continue
          }
          for (const t of p.targets ?? []) {
            // a panel under a repeated row runs once per value of the row's variable
            const instances: GrafanaContext[] = repeated && Array.isArray(components) ? components.map((c) => ({ ...ctx, variables: { ...ctx.variables, component: { value: [c], multi: true, includeAll: true } } })) : [ctx]
            let withRows = 0
            for (const instance of instances) {
              const sql = expandGrafanaSql(t.rawSql, instance)
              const rows = await run(sql).catch((err: Error) => assert.fail(`panel ${p.id} "${p.title}" failed: ${err.message}\n${sql}`))
              if (rows.length === 0) continue
              withRows++
              assertShape(p.type, rows, `panel ${p.id} "${p.title}" (${instance.variables.component?.value ?? ''})`)
            }
            assert.ok(withRows > 0, `panel ${p.id} "${p.title}": no rows for any instance`)
          }
        }
        for (const a of d.annotations.list) assertShape('annotation', await run(expandGrafanaSql(a.target.rawSql, ctx)), `annotation ${a.name}`)
      })
    }

    test('panels read the truth the run was made with: half a core of CPU, every turn counted', async () => {
      const soak = BUILT['hopwatch-soak.json'] as Dashboard
      const cpu = soak.panels.find((p) => p.title === 'CPU (cores)') as Panel
      const cores = (await run(expandGrafanaSql(cpu.targets?.[0]?.rawSql ?? '', await context(soak)))).map((r) => r.cores as number)
      assert.ok(cores.length > 10 && cores.every((c) => Math.abs(c - 0.5) < 1e-6), cores.join(', '))
      const overview = BUILT['hopwatch-overview.json'] as Dashboard
      const turns = overview.panels.find((p) => p.title === 'Turns') as Panel
      const [row] = await run(expandGrafanaSql(turns.targets?.[0]?.rawSql ?? '', await context(overview)))
      assert.deepEqual(row, { turns: seededTurns })
    })

    test('a conversation typed into the overview keeps its panel to that conversation', async () => {
      const d = BUILT['hopwatch-overview.json'] as Dashboard
      const panel = d.panels.find((p) => p.title === 'Turns of a conversation') as Panel
      const ctx = await context(d, { conversation_id: { value: `${RUN.runId}-3` } })
      const rows = await run(expandGrafanaSql(panel.targets?.[0]?.rawSql ?? '', ctx))
      assert.ok(rows.length > 0)
      assert.deepEqual([...new Set(rows.map((r) => r.conversation_id))], [`${RUN.runId}-3`])
    })

    test('the plugin\'s $__timeInterval: why the dashboards slice with $__interval_s instead', async () => {
      const ctx = await context(BUILT['hopwatch-soak.json'] as Dashboard)
      const sql = expandGrafanaSql(`SELECT $__timeInterval(time) AS t, count() AS n FROM hopwatch.turns WHERE run_id = '\${run_id}' AND $__timeFilter(time) GROUP BY t`, ctx)
      if (store.capabilities.lowCardinality) assert.ok((await run(sql)).length > 0, 'newer engines run it')
      else await assert.rejects(run(sql), /toStartOfInterval/, '18.16 has no toStartOfInterval')
    })
  })
}
