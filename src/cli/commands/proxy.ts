import { ADAPTER_NAMES, inFlightOf, proxyNameOf, startProxy, unreachableUpstreams, upstreamDns, type RunningProxy } from '../../proxy/index.js'
import { loadConfigFile } from '../../config/index.js'
import { lowerEngineThreads, newRunId } from '../../store/index.js'
import { ProxyMetrics } from '../../telemetry/index.js'
import { pidProbe } from '../../resources/index.js'
import { VERSION } from '../version.js'
import { intFlag, parseFlags, stringFlag } from '../args.js'
import { STORE_FLAGS, STORE_FLAGS_HELP, storeOverrides, storeTarget } from '../store-access.js'
import { Recording } from '../recording.js'
import { Watching } from '../watching.js'
import { agentTracesFor, describeTraced, tracingFor } from '../telemetry.js'
import { table } from '../output.js'
import { isProxyWorker, ownerAdmin, ProxyWorkers, runProxyWorker } from '../proxy-workers.js'
import type { OtlpSpan } from '../../telemetry/otlp/index.js'
import { CliError } from '../errors.js'
import type { HopwatchConfig } from '../../config/index.js'
import type { Recording as RecordingType } from '../recording.js'

export const usage = `Usage: hopwatch proxy [--config hopwatch.yaml] [flags]

Runs the sidecar proxy: forwards callers to the configured upstreams, times every hop, stores it.
Stops on SIGINT/SIGTERM after in-flight hops finish (10 s at most) and every row is written or spilled.

  --config FILE     the test config (default ./hopwatch.yaml)
  --host ADDR       listen address (proxy.host, default 127.0.0.1)
  --port N          main port (proxy.port, default 8787; 0 = any free port)
  --run-id ID       run for hops whose caller names none (default proxy-<time>-<rand>)
  --run-name NAME   a label for that run
  --workers N       N processes serve the ports (one core each), and this one owns the store and the admin API:
                    for many concurrent streams or sockets, or (N = 1) to keep the store's work off the process that
                    forwards. Without it one process does everything
${STORE_FLAGS_HELP}

Examples:
  hopwatch proxy
  hopwatch proxy --config staging.yaml --host 0.0.0.0 --run-id staging-soak --clickhouse-url http://clickhouse:8123
  hopwatch proxy --workers 2

Exit codes: 0 stopped cleanly; 1 some rows could not be kept (counted in the summary); 2 bad config or flags.`

const FLAGS = { config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, 'run-id': { type: 'string' }, 'run-name': { type: 'string' }, workers: { type: 'string' }, ...STORE_FLAGS } as const

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
  if (isProxyWorker()) return runProxyWorker(config)
  // 0: no workers, this process forwards too
  const workers = intFlag(values.workers, 'workers') ?? 0
  if (values.workers !== undefined && (workers < 1 || workers > 256)) throw new CliError('HW_CLI_USAGE', `--workers takes 1 to 256 processes, got ${workers}`)
  const runId = config.run.id ?? newRunId('proxy')
  // listen for the stop signal before anything starts: a signal that comes while the proxy starts, or right after it
  // says it is listening, still stops it cleanly (without a handler the default action would kill it, rows unwritten)
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  const recording = await Recording.start(config, { runId, source: 'proxy', load: false })
  // a sidecar records second: the embedded engine's threads take only the CPU that forwarding and the agent leave
  if (storeTarget(config.store).kind === 'embedded') lowerEngineThreads()
  const serving = workers > 0 ? await serveWithWorkers(config, recording, runId, workers) : await serveInProcess(config, recording, runId)

  process.stdout.write(`hopwatch proxy ${VERSION} listening on ${serving.url}  (/healthz, /metrics${serving.receiving ? ', OTLP/HTTP traces at /v1/traces' : ''}); admin API on ${serving.adminUrl} (its token is in an embedded store's hopwatch-owner.json)${workers > 0 ? `; ${workers} worker process${workers === 1 ? '' : 'es'}` : ''}\n`)
  process.stdout.write(
    table(
      ['upstream', 'component', 'adapter', 'callers use', 'forwards to'],
      config.upstreams.map((u) => [u.name, u.component, u.adapter, serving.upstreamUrls.get(u.name) ?? '', u.target]),
    ),
  )
  process.stdout.write(`store: ${recording.describe()}\nrun:   ${runId}\n`)
  // a warning, not a failure: the services may come up after the proxy
  void unreachableUpstreams(config.upstreams).then((warnings) => {
    for (const w of warnings) process.stderr.write(`hopwatch: warning: ${w}\n`)
  })

  await stopped
  process.stdout.write('hopwatch: stopping: letting in-flight hops finish…\n')
  const traced = await serving.stop()
  const { dropped, report, warning } = await recording.close()
  process.stdout.write(report)
  if (traced !== undefined) process.stdout.write(describeTraced(traced))
  process.stderr.write(warning)
  return dropped > 0 ? 1 : 0
}

interface Serving {
  url: string
  upstreamUrls: ReadonlyMap<string, string>
  adminUrl: string
  receiving: boolean
  /** stops taking requests, lets in-flight hops finish, stops what watched them; the turn traces' counts */
  stop(): Promise<ReturnType<NonNullable<ReturnType<typeof tracingFor>>['counts']> | undefined>
}

/** One process forwards, records and serves the admin API. */
async function serveInProcess(config: HopwatchConfig, recording: RecordingType, runId: string): Promise<Serving> {
  let proxy: RunningProxy | undefined
  const watching = Watching.start(config, recording, { generator: false, proxy: proxyNameOf(config.proxy) })
  const agentTraces = agentTracesFor(config, recording, false)
  const tracing = tracingFor(config)
  const metrics = new ProxyMetrics(
    () => inFlightOf(proxy?.upstreams ?? []),
    () => recording.stats(),
    { alerts: () => watching.stats().alerts, tracing: () => tracing?.counts(), receiver: () => agentTraces?.stats(), dns: () => upstreamDns.counts() },
  )
  proxy = await startProxy({
    config,
    ...(agentTraces !== undefined ? { otlp: agentTraces } : {}),
    runId,
    admin: {
      ...recording.storeHooks(),
      metrics: () => metrics.render(),
      stats: () => ({ run_id: runId, store: recording.stats(), upstreams: proxy?.upstreams.map((u) => ({ name: u.name, in_flight: u.inFlight })), ...watching.stats(), agent_spans: agentTraces?.stats() }),
    },
  })
  await recording.own(proxy)

  agentTraces?.listening([proxy.url, ...proxy.upstreamUrls.values()])
  const running = proxy
  return {
    url: running.url,
    upstreamUrls: running.upstreamUrls,
    adminUrl: running.adminUrl,
    receiving: agentTraces !== undefined,
    async stop() {
      await running.close()
      agentTraces?.close()
      const traced = await tracing?.stop()
      await watching.stop()
      metrics.dispose()
      return traced
    },
  }
}

/**
 * Workers forward; this process owns the store, publishes the hops they hand over (its writer, metrics, alerts and
 * trace exporter take them as they would its own) and serves the admin API; an agent's spans, read by the worker
 * that takes the request, are joined here with every worker's hops. proxy_overloaded watches the workers'
 * loops: each reports its lag p99 every alerts.eval_s, and the busiest one counts. Each worker's process is sampled
 * into resource_samples as `hopwatch-worker-<pid>`.
 */
async function serveWithWorkers(config: HopwatchConfig, recording: RecordingType, runId: string, count: number): Promise<Serving> {
  let pool: ProxyWorkers | undefined
  const watching = Watching.start(config, recording, { generator: false, proxy: proxyNameOf(config.proxy), proxyLag: { takeP99Ms: () => pool?.lagP99Ms() ?? 0 } })
  // the workers read what agents send; the spans are joined here, where every worker's hops are
  const agentTraces = agentTracesFor(config, recording, false)
  const receiverStats = () => (agentTraces === undefined ? undefined : { ...agentTraces.stats(), ...(pool?.receiverCounts({ ...agentTraces.receiver.stats }) ?? {}) })
  const tracing = tracingFor(config)
  const metrics = new ProxyMetrics(() => pool?.inFlightHops() ?? [], () => recording.stats(), { alerts: () => watching.stats().alerts, tracing: () => tracing?.counts(), receiver: receiverStats, dns: () => pool?.dnsCounts() })
  const admin = await ownerAdmin(config, {
    ...recording.storeHooks(),
    metrics: () => metrics.render(),
    stats: () => ({ run_id: runId, store: recording.stats(), upstreams: pool?.inFlightHops().map((u) => ({ name: u.name, component: u.component, in_flight: u.inFlight })), workers: pool?.workers(), ...watching.stats(), agent_spans: receiverStats() }),
  })
  const warn = (line: string) => process.stderr.write(line)
  // the workers' spans come behind a fence (every worker's hops that ended before them have come), to be joined here
  const ingest = (spans: OtlpSpan[]) => {
    try {
      agentTraces?.assembler.ingest(spans)
    } catch {
      // a fault of hopwatch's own: counted, never silent (as the receiver counts it in one process)
      if (agentTraces !== undefined) agentTraces.receiver.stats.failed++
    }
  }
  try {
    // each worker's process is sampled as a target of its own (its memory trend is the proxy's)
    const target = (pid: number) => `hopwatch-worker-${pid}`
    pool = await ProxyWorkers.start(count, runId, {
      lost: (hops) => recording.writer.lost('hops', 'queue_full', hops),
      metrics: () => metrics.render(),
      warn,
      spans: ingest,
      started: (pid) => watching.sampler.add(pidProbe(target(pid), pid)),
      exited: (pid) => watching.sampler.remove(target(pid)),
    })
  } catch (err) {
    await admin.close()
    agentTraces?.close()
    await watching.stop()
    metrics.dispose()
    await recording.close()
    throw err
  }
  await recording.own({ adminUrl: admin.url, adminToken: admin.token })
  const running = pool
  agentTraces?.listening([running.urls.url, ...running.urls.upstreamUrls.values()])
  return {
    ...running.urls,
    adminUrl: admin.url,
    receiving: agentTraces !== undefined,
    async stop() {
      await running.stop()
      agentTraces?.close()
      await admin.close()
      const traced = await tracing?.stop()
      await watching.stop()
      metrics.dispose()
      return traced
    },
  }
}
