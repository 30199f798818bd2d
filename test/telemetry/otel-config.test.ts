import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { parse } from 'yaml'

const FILE = fileURLToPath(new URL('../../../otel-config/collector.yaml', import.meta.url))

interface Collector {
  receivers: Record<string, unknown>
  processors: Record<string, unknown>
  exporters: Record<string, Record<string, unknown>>
  extensions?: Record<string, unknown>
  service: { extensions?: string[]; pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }> }
}

test('the collector config receives OTLP, limits memory first, batches, and exports traces to ClickHouse and a tracing backend', async () => {
  const config = parse(await readFile(FILE, 'utf8')) as Collector
  const traces = config.service.pipelines.traces
  assert.ok(traces !== undefined, 'no traces pipeline')
  for (const [kind, names] of [['receivers', traces.receivers], ['processors', traces.processors], ['exporters', traces.exporters]] as const) {
    for (const name of names) assert.ok(name in config[kind], `${kind} ${name} is used but not declared`)
  }
  for (const name of config.service.extensions ?? []) assert.ok(name in (config.extensions ?? {}), `extension ${name} is used but not declared`)
  assert.deepEqual(traces.receivers, ['otlp'])
  assert.equal(traces.processors[0], 'memory_limiter', 'memory_limiter must come first')
  assert.ok(traces.processors.indexOf('batch') > 0)
  assert.ok(traces.exporters.includes('clickhouse') && traces.exporters.some((e) => e.startsWith('otlp')))
  const ch = config.exporters.clickhouse!
  for (const key of ['endpoint', 'database', 'traces_table_name', 'create_schema']) assert.ok(key in ch, `clickhouse.${key} missing`)
  const http = (config.receivers.otlp as { protocols: { http: { endpoint: string } } }).protocols.http.endpoint
  assert.match(http, /4318/)
})
