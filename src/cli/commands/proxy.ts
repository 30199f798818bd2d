import { ADAPTER_NAMES, startProxy, type RunningProxy } from '../../proxy/index.js'
import { loadConfigFile, type HopwatchConfig } from '../../config/index.js'
import { BatchWriter, ClickHouseSink, newRunId, openStore, queryJsonLines, recordHops, removeOwner, runRow, Spill, writeOwner, type Store } from '../../store/index.js'
import { ProxyMetrics } from '../../telemetry/index.js'
import { nowUs } from '../../clock.js'
import { VERSION } from '../version.js'
import { intFlag, parseFlags, stringFlag } from '../args.js'
import { describeTarget, spillDir, STORE_FLAGS, STORE_FLAGS_HELP, storeOverrides, storeTarget } from '../store-access.js'
import { table } from '../output.js'

export const usage = `Usage: hopwatch proxy [--config hopwatch.yaml] [flags]

Runs the sidecar proxy: forwards callers to the configured upstreams, times every hop, stores it.
Stops on SIGINT/SIGTERM after in-flight hops finish (10 s at most) and every row is written or spilled.

  --config FILE     the test config (default ./hopwatch.yaml)
  --host ADDR       listen address (proxy.host, default 127.0.0.1)
  --port N          main port (proxy.port, default 8787; 0 = any free port)
  --run-id ID       run for hops whose caller names none (default proxy-<time>-<rand>)
  --run-name NAME   a label for that run
${STORE_FLAGS_HELP}

Exit codes: 0 stopped cleanly; 1 some rows could not be kept (counted in the summary); 2 bad config or flags.`

const FLAGS = { config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, 'run-id': { type: 'string' }, 'run-name': { type: 'string' }, ...STORE_FLAGS } as const

/** `hopwatch proxy` */
export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS, 'proxy')
  if (values.help === true) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const config = await loadConfigFile(stringFlag(values.config) ?? 'hopwatch.yaml', {
    adapters: ADAPTER_NAMES,
    overrides: {
      'proxy.host': stringFlag(values.host),
      'proxy.port': intFlag(values.port, 'port'),
      'run.id': stringFlag(values['run-id']),
      'run.name': stringFlag(values['run-name']),
      ...storeOverrides(values),
    },
  })
  const runId = config.run.id ?? newRunId('proxy')
  const target = storeTarget(config.store)

  // The embedded engine opens now (a locked directory is a usage error); a server may be down: rows spill until it is up.
  let store: Store | undefined = target.kind === 'embedded' ? await openStore(target, config.store.database) : undefined
  const ensureStore = async () => (store ??= await openStore(target, config.store.database))
  if (target.kind === 'server') {
    await ensureStore().catch((err: Error) => process.stderr.write(`hopwatch: warning: ${err.message}\n  traffic flows; rows spill to ${spillDir(config.store)} until the server answers\n`))
  }

  const spill = new Spill(spillDir(config.store), config.store.spill_max_bytes)
  await spill.init()
  let dropWarnedAt = 0
  const writer = new BatchWriter(
    new ClickHouseSink(store ?? ensureStore),
    spill,
    { queueRows: config.store.queue_rows, batchRows: config.store.batch_rows, flushMs: config.store.flush_ms, retryMs: config.store.retry_ms },
    (tableName, reason, rows) => {
      if (Date.now() - dropWarnedAt < 10_000) return
      dropWarnedAt = Date.now()
      process.stderr.write(`hopwatch: warning: ${rows} ${tableName} rows dropped (${reason}); totals at /_hopwatch/stats and on /metrics\n`)
    },
  )
  writer.start()
  const stopRecording = recordHops(writer)
  const run = { run_id: runId, name: config.run.name, started_us: nowUs(), source: 'proxy', hopwatch_version: VERSION, config_json: JSON.stringify(redacted(config)) }
  writer.push('runs', runRow(run))

  let proxy: RunningProxy | undefined
  const metrics = new ProxyMetrics(
    () => (proxy?.upstreams ?? []).map((u) => ({ name: u.name, component: u.config.component, inFlight: u.inFlight })),
    () => writer.stats(),
  )
  proxy = await startProxy({
    config,
    runId,
    admin: {
      sql: (statement) => ({ [Symbol.asyncIterator]: async function* () { yield* queryJsonLines(await ensureStore(), statement) } }),
      metrics: () => metrics.render(),
      stats: () => ({ run_id: runId, store: writer.stats(), upstreams: proxy?.upstreams.map((u) => ({ name: u.name, in_flight: u.inFlight })) }),
    },
  })
  if (target.kind === 'embedded') await writeOwner(target.dir, { pid: process.pid, admin_url: proxy.url, started_us: run.started_us })

  process.stdout.write(`hopwatch proxy ${VERSION} listening on ${proxy.url}  (/healthz, /metrics, /_hopwatch/sql)\n`)
  process.stdout.write(
    table(
      ['upstream', 'component', 'adapter', 'callers use', 'forwards to'],
      config.upstreams.map((u) => [u.name, u.component, u.adapter, proxy?.upstreamUrls.get(u.name) ?? '', u.target]),
    ),
  )
  process.stdout.write(`store: ${describeTarget(target)}${store !== undefined ? ` (ClickHouse ${store.version}), database ${config.store.database}` : ''}\nrun:   ${runId}\n`)

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  process.stdout.write('hopwatch: stopping: letting in-flight hops finish…\n')
  await proxy.close()
  stopRecording()
  metrics.dispose()
  writer.push('runs', runRow(run, nowUs()))
  await writer.close()
  const stats = writer.stats()
  if (target.kind === 'embedded') await removeOwner(target.dir)
  await store?.close()

  let dropped = 0
  const rows = Object.entries(stats.tables).map(([name, c]) => {
    const lost = Object.values(c.dropped).reduce((a, b) => a + b, 0)
    dropped += lost
    return [name, String(c.pushed), String(c.written), String(c.spilled), String(c.replayed), String(lost)]
  })
  process.stdout.write(table(['table', 'rows', 'written', 'spilled', 'replayed', 'dropped'], rows))
  if (stats.spillBytes > 0) process.stdout.write(`${stats.spillBytes} bytes wait in ${spill.dir}; they are replayed by the next hopwatch process using this store\n`)
  if (dropped > 0) {
    process.stderr.write(`hopwatch: ${dropped} rows could not be kept (store: ${stats.lastError || 'see above'})\n`)
    return 1
  }
  return 0
}

/** The config as stored in `runs`: without the ClickHouse password. */
function redacted(config: HopwatchConfig): unknown {
  if (config.store.clickhouse === undefined) return config
  return { ...config, store: { ...config.store, clickhouse: { ...config.store.clickhouse, password: config.store.clickhouse.password === '' ? '' : '(redacted)' } } }
}
