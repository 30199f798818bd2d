/**
 * The two per-hop costs of recording that stop 28 cut, each against the way it was done before, in the same run:
 * - inserting hop rows into the embedded engine as TabSeparated text (ClickHouseSink) against JSONEachRow objects
 *   (@clickhouse/client's own encoding): CPU of every thread per 1,000 rows, and the main thread's time to build the text;
 * - the proxy's per-hop metrics as bound series (ProxyMetrics) against prom-client's own labelled Histogram and
 *   Counter: event-loop time per hop.
 * Repeats alternate the two ways (`BENCH_REPEATS`, 3), median and range. Shared machine: read the ratios.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Counter, Histogram, Registry } from 'prom-client'
import { table } from '../../src/cli/output.js'
import { hopEnded } from '../../src/events.js'
import { ClickHouseSink, openStore, queryJsonLines } from '../../src/store/index.js'
import { tsvEncoder } from '../../src/store/tsv.js'
import { HOP_BUCKETS, ProxyMetrics } from '../../src/telemetry/index.js'
import type { HopRecord } from '../../src/types.js'
import { hopRow } from '../support/rows.js'
import { median, spread } from './load.js'

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3)
const BATCHES = 20
const BATCH_ROWS = 2_000
const HOPS = 200_000

const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

let made = 0
/** Hop rows as the proxy makes them: distinct ids, a trace id, timestamps in microseconds. */
function batchOfHops(): HopRecord[] {
  const batch = made++
  return Array.from({ length: BATCH_ROWS }, (_, i) => hopRow(i, { run_id: `bench-${batch}`, hop_id: `h-${batch}-${i}`, conversation_id: `c-${batch}-${i >> 2}`, trace_id: '0af7651916cd43dd8448eb211c80319c', parent_span_id: 'b7ad6b7169203331' }))
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-recording-path-'))
  const store = await openStore({ kind: 'embedded', dir }, 'hopwatch')
  const sink = new ClickHouseSink(store)
  const tsv = tsvEncoder('hops')

  // rows are made before the clock starts: only the insert (and its encoding) is counted
  const insertWays = {
    json: async (rows: HopRecord[]) => store.client.insert({ table: 'hopwatch.hops', values: rows, format: 'JSONEachRow' }),
    tsv: async (rows: HopRecord[]) => sink.insert('hops', rows),
  }
  const insertCpu = { json: [] as number[], tsv: [] as number[] }
  const encodeUs = { json: [] as number[], tsv: [] as number[] }
  for (let r = 0; r < REPEATS; r++) {
    for (const way of r % 2 === 0 ? (['json', 'tsv'] as const) : (['tsv', 'json'] as const)) {
      const batches = Array.from({ length: BATCHES }, batchOfHops)
      const c0 = cpuMs()
      for (const rows of batches) await insertWays[way](rows)
      insertCpu[way].push((cpuMs() - c0) / ((BATCHES * BATCH_ROWS) / 1000))
      const t0 = performance.now()
      for (const rows of batches) void (way === 'json' ? rows.map((row) => `${JSON.stringify(row)}\n`).join('') : tsv.encode(rows)).length
      encodeUs[way].push(((performance.now() - t0) * 1000) / (BATCHES * BATCH_ROWS))
    }
  }
  let stored = 0
  for await (const line of queryJsonLines(store, 'SELECT count() AS n FROM hopwatch.hops')) stored = Number((JSON.parse(line) as { n: number }).n)
  await store.close()
  await rm(dir, { recursive: true, force: true })

  // prom-client's own labelled metrics, as ProxyMetrics used them before: five histogram observations and a counter a hop
  const reference = new Registry()
  const stage = new Histogram({ name: 'stage_seconds', help: 's', labelNames: ['upstream', 'component', 'stage'], buckets: HOP_BUCKETS, registers: [reference] })
  const component = new Histogram({ name: 'component_seconds', help: 'c', labelNames: ['upstream', 'component'], buckets: HOP_BUCKETS, registers: [reference] })
  const hops = new Counter({ name: 'hops_total', help: 'h', labelNames: ['upstream', 'component', 'status_class'], registers: [reference] })
  const labels = { upstream: 'llm', component: 'llm' }
  const bound = ['response_start', 'first_payload', 'final', 'end'].map((name) => stage.labels({ ...labels, stage: name }))
  const boundComponent = component.labels(labels)
  const boundHops = hops.labels({ ...labels, status_class: '2xx' })
  const promClient = (hop: HopRecord) => {
    boundHops.inc()
    for (const s of bound) s.observe((hop.end_us - hop.start_us) / 1e6)
    boundComponent.observe((hop.first_payload_us - hop.start_us) / 1e6)
  }
  const rows = Array.from({ length: 1000 }, (_, i) => hopRow(i))
  const metricsUs = { promClient: [] as number[], bound: [] as number[] }
  for (let r = 0; r < REPEATS; r++) {
    let t0 = performance.now()
    for (let i = 0; i < HOPS; i++) promClient(rows[i % 1000] as HopRecord)
    metricsUs.promClient.push(((performance.now() - t0) * 1000) / HOPS)
    const metrics = new ProxyMetrics(() => [])
    t0 = performance.now()
    for (let i = 0; i < HOPS; i++) hopEnded.publish(rows[i % 1000])
    metricsUs.bound.push(((performance.now() - t0) * 1000) / HOPS)
    metrics.dispose()
  }

  console.log(`recording's per-hop path, each way against the one before it; ${REPEATS} repeats\n`)
  console.log(`Inserting ${BATCHES} batches of ${BATCH_ROWS} hop rows into the embedded engine (every thread's CPU)`)
  console.log(
    table(
      ['format', 'cpu ms/1k rows', '× JSONEachRow', 'building the text µs/row'],
      [
        ['JSONEachRow (objects, the client encodes)', spread(insertCpu.json, 1), '1.00', spread(encodeUs.json, 2)],
        ['TabSeparated (ClickHouseSink)', spread(insertCpu.tsv, 1), (median(insertCpu.tsv) / median(insertCpu.json)).toFixed(2), spread(encodeUs.tsv, 2)],
      ],
    ),
  )
  console.log(`rows stored: ${stored} of ${REPEATS * 2 * BATCHES * BATCH_ROWS}\n`)
  console.log(`Metrics for ${HOPS} hops (event-loop time; five histogram observations and a counter a hop)`)
  console.log(
    table(
      ['series', 'µs/hop', '× prom-client'],
      [
        ["prom-client's labelled Histogram and Counter", spread(metricsUs.promClient, 2), '1.00'],
        ['bound series (ProxyMetrics, through hopwatch:hop:end)', spread(metricsUs.bound, 2), (median(metricsUs.bound) / median(metricsUs.promClient)).toFixed(2)],
      ],
    ),
  )
}

await main()
