import { loadConfigFile } from '../../config/index.js'
import { LoadRun, parseShard, parseStartAt, planFromConfig, RunMonitor, targetsFromUpstreams, waitUntil } from '../../loadgen/index.js'
import { ADAPTER_NAMES } from '../../proxy/index.js'
import { newRunId } from '../../store/index.js'
import { CliError } from '../errors.js'
import { parseFlags, stringFlag } from '../args.js'
import { table } from '../output.js'
import { Recording } from '../recording.js'
import { Watching } from '../watching.js'
import { STORE_FLAGS, STORE_FLAGS_HELP, storeOverrides } from '../store-access.js'
import { VERSION } from '../version.js'
import { LOAD_FLAGS, LOAD_FLAGS_HELP, loadOverrides } from './run.js'

export const usage = `Usage: hopwatch load --proxy-url URL [--config hopwatch.yaml] [--start-at WHEN] [load flags] [store flags]

Only the simulated callers, against a proxy that runs elsewhere (hopwatch proxy, a sidecar, a pool behind a
Service): each component goes to the proxy's URL for the first upstream of that component in the config (its
prefix, or its own port on the proxy's host). Turns and steps go to the store; the proxy records the hops. When a
running proxy owns the embedded store (the same --store, on this machine), turns and steps are written through its
admin API, so one store holds the whole run; with a ClickHouse server, both write to it. For several generators on
one store: --shard i/N on each, the same --run-id and --start-at; the analysis adds their loads up per step.

  --proxy-url URL   the proxy's main URL, e.g. http://127.0.0.1:8787
  --config FILE     hopwatch.yaml: its upstreams and load: section (default ./hopwatch.yaml)
  --start-at WHEN   wait for this wall-clock instant (ISO 8601, e.g. 2026-12-01T17:00:00Z, or Unix seconds) before
                    the first step, so the shards' steps line up; a shard that starts later is named in the analysis
${LOAD_FLAGS_HELP}
${STORE_FLAGS_HELP}

Examples:
  hopwatch load --proxy-url http://127.0.0.1:8787 --max 40 --step-s 60
  hopwatch load --proxy-url http://proxy:8787 --shard 2/3 --run-id nightly-18 --start-at 2026-12-01T02:00:00Z \\
                --clickhouse-url http://clickhouse:8123

Exit codes: 0 the load ran; 1 rows could not be kept; 2 bad flags or config.`

const FLAGS = { config: { type: 'string' }, 'proxy-url': { type: 'string' }, 'start-at': { type: 'string' }, ...LOAD_FLAGS, ...STORE_FLAGS } as const

/** `hopwatch load` */
export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS, 'load')
  if (values.help === true) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const proxyUrl = stringFlag(values['proxy-url'])
  if (proxyUrl === undefined) throw new CliError('HW_CLI_USAGE', '--proxy-url URL is required: the running proxy\'s main URL, e.g. http://127.0.0.1:8787')
  if (!/^https?:\/\/[^/]/.test(proxyUrl)) {
    const bare = /^[\w.-]+(:\d+)?(\/.*)?$/.test(proxyUrl)
    throw new CliError('HW_CLI_USAGE', `--proxy-url ${JSON.stringify(proxyUrl)} is not an http(s) URL${bare ? `: did you mean http://${proxyUrl}?` : '; give the proxy\'s main URL, e.g. http://127.0.0.1:8787'}`)
  }
  const shard = parseShard(stringFlag(values.shard) ?? '1/1')
  if (shard === undefined) throw new CliError('HW_CLI_USAGE', `--shard takes i/N with 1 ≤ i ≤ N, got ${JSON.stringify(values.shard)}`)
  const startAtText = stringFlag(values['start-at'])
  const startAt = startAtText === undefined ? undefined : parseStartAt(startAtText)
  if (startAtText !== undefined && startAt === undefined) throw new CliError('HW_CLI_USAGE', `--start-at takes an instant, ISO 8601 (2026-12-01T17:00:00Z) or Unix seconds, got ${JSON.stringify(startAtText)}`)
  const config = await loadConfigFile(stringFlag(values.config) ?? 'hopwatch.yaml', { adapters: ADAPTER_NAMES, overrides: { ...loadOverrides(values), ...storeOverrides(values) } })
  const base = new URL(proxyUrl)
  const urlOf = (name: string) => {
    const u = config.upstreams.find((x) => x.name === name)
    if (u?.prefix !== undefined) return `${base.origin}${u.prefix}`
    return `${base.protocol}//${base.hostname}:${u?.port ?? base.port}`
  }
  const { targets, problems } = targetsFromUpstreams(config.upstreams, urlOf)
  for (const p of problems) process.stderr.write(`hopwatch: warning: ${p}\n`)
  const runId = config.run.id ?? newRunId('load')
  const recording = await Recording.start(config, { runId, source: 'load', load: true, throughOwner: true })
  const watching = Watching.start(config, recording, { generator: true })
  const plan = await planFromConfig(config.load, { runId, targets, shard })
  const steps = plan.steps
  const loadRun = new LoadRun(plan)
  const monitor = new RunMonitor(runId, () => loadRun.snapshot().step)
  // the stop handlers before the first line a watcher could act on: a signal then ends the run cleanly
  const waiting = new AbortController()
  const onSignal = () => {
    waiting.abort()
    loadRun.stop()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  process.stdout.write(`hopwatch load ${VERSION}: run ${runId}, shard ${shard.index + 1}/${shard.count}, ${steps.length} steps (${steps.map((s) => s.target).join(', ')}) against ${proxyUrl}\n`)
  process.stdout.write(`store: ${recording.describe()}\n`)
  if (startAt !== undefined) {
    const inS = (startAt - Date.now()) / 1000
    process.stdout.write(inS > 0 ? `waiting for the common start at ${new Date(startAt).toISOString()} (in ${inS.toFixed(1)} s)\n` : `hopwatch: warning: the common start ${new Date(startAt).toISOString()} passed ${(-inS).toFixed(1)} s ago: starting now, late (the analysis names this shard)\n`)
    await waitUntil(startAt, waiting.signal)
  }
  const ticker = setInterval(() => process.stdout.write(`${monitor.liveLine(loadRun.snapshot())}\n`), 5000)
  // a signal while waiting stopped the run: it ends at once, with no step
  const result = await loadRun.run().finally(() => {
    clearInterval(ticker)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  })
  const { header, rows } = monitor.summary(result.steps)
  process.stdout.write(table(header, rows))
  if (result.stoppedBy !== undefined) process.stdout.write(`stopped early: ${result.stoppedBy}\n`)
  monitor.dispose()
  await watching.stop()
  const { dropped, report, warning } = await recording.close()
  process.stdout.write(report)
  process.stderr.write(warning)
  return dropped > 0 ? 1 : 0
}
