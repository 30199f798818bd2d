import { existsSync } from 'node:fs'
import { parseYaml, readConfigText, validateConfig, type HopwatchConfig } from '../../config/index.js'
import { LoadRun, parseShard, planFromConfig, RunMonitor, targetsFromUpstreams, type StepOutcome } from '../../loadgen/index.js'
import { ADAPTER_NAMES, inFlightOf, startProxy, upstreamDns, type RunningProxy } from '../../proxy/index.js'
import { loadSimConfigFile, presetConfig, startSim, type RunningSim, type SimConfig, type SimEndpoint } from '../../sim/index.js'
import { newRunId } from '../../store/index.js'
import { ProxyMetrics } from '../../telemetry/index.js'
import { CliError } from '../errors.js'
import { intFlag, numberFlag, parseFlags, stringFlag } from '../args.js'
import { table } from '../output.js'
import { Recording } from '../recording.js'
import { Watching } from '../watching.js'
import { agentTracesFor, describeTraced, tracingFor } from '../telemetry.js'
import { STORE_FLAGS, STORE_FLAGS_HELP, storeOverrides } from '../store-access.js'
import { VERSION } from '../version.js'
import { defaultReportPath, writeReport } from '../report-file.js'
import { analyzeStoredRun, type Analysis } from '../../analyze/index.js'
import { gateFailure } from '../../report/gate.js'
import { renderSloChecks, renderTable } from '../../report/summary.js'

export const LOAD_FLAGS = {
  profile: { type: 'string' },
  start: { type: 'string' },
  factor: { type: 'string' },
  'step-s': { type: 'string' },
  max: { type: 'string' },
  peak: { type: 'string' },
  level: { type: 'string' },
  'duration-s': { type: 'string' },
  model: { type: 'string' },
  architecture: { type: 'string' },
  'time-scale': { type: 'string' },
  scenarios: { type: 'string' },
  'stop-on-breach': { type: 'boolean' },
  'min-turns-per-step': { type: 'string' },
  seed: { type: 'string' },
  shard: { type: 'string' },
  'run-id': { type: 'string' },
  'run-name': { type: 'string' },
} as const

export const LOAD_FLAGS_HELP = `Load (flags override the config's load: section):
  --profile NAME         ramp (default), stress, spike, soak, stages
  --start N --factor F --step-s S --max N    ramp/stress: start load, growth per step, step length, last load
  --peak N               spike: the expected peak (baseline 30 %, spike 2.5×)
  --level N --duration-s S                   soak: the level and how long
  --model closed|open    concurrent conversations (default) or arrivals per second (Poisson)
  --architecture cascaded|s2s|multi-model
  --time-scale F         divide every duration (steps, think times, audio pacing) by F; latencies stay real
  --scenarios A,B        built-in (booking, support, faq) or YAML files (default all three)
  --stop-on-breach       stop a ramp or stress run after the first step that breaks the SLOs (load.slo)
  --min-turns-per-step N closed model: extend each step (up to 3× its length) until N of its turns have ended, so
                         each has enough for a p95 (the analyzer judges none with fewer than 100); 0 never (default)
  --seed N               seeds scenario choice, turn counts and arrivals
  --shard i/N            run 1/N of the profile (conversation ids disjoint), for N generators on one store
  --run-id ID --run-name NAME`

/** Where the run's HTML report goes (run and demo write one at the end of every run). */
export const REPORT_FLAGS = { report: { type: 'string' }, 'no-report': { type: 'boolean' } } as const

export const REPORT_FLAGS_HELP = `  --report FILE        write the run's HTML report there (default: hopwatch-report-<run>.html beside the store's
                       folder, or here for a ClickHouse server); its path is the last line printed
  --no-report          do not write it`

/** Only the overrides a flag gave: an absent flag must not hide a default set before it. */
function given(overrides: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined))
}

/** Load flags as config overrides. */
export function loadOverrides(values: Record<string, string | boolean | undefined>): Record<string, unknown> {
  return {
    'load.profile': stringFlag(values.profile),
    'load.start': numberFlag(values.start, 'start'),
    'load.factor': numberFlag(values.factor, 'factor'),
    'load.step_s': numberFlag(values['step-s'], 'step-s'),
    'load.max': numberFlag(values.max, 'max'),
    'load.peak': numberFlag(values.peak, 'peak'),
    'load.level': numberFlag(values.level, 'level'),
    'load.duration_s': numberFlag(values['duration-s'], 'duration-s'),
    'load.model': stringFlag(values.model),
    'load.architecture': stringFlag(values.architecture),
    'load.time_scale': numberFlag(values['time-scale'], 'time-scale'),
    'load.scenarios': stringFlag(values.scenarios)?.split(',').map((s) => s.trim()),
    'load.stop_on_breach': values['stop-on-breach'] === true ? true : undefined,
    'load.min_turns_per_step': intFlag(values['min-turns-per-step'], 'min-turns-per-step'),
    'load.seed': intFlag(values.seed, 'seed'),
    'run.id': stringFlag(values['run-id']),
    'run.name': stringFlag(values['run-name']),
  }
}

export const usage = `Usage: hopwatch run [--config hopwatch.yaml] [--sim [--sim-config FILE | --preset NAME]] [--fail-on-breach [--expected-peak N]]
                    [load flags] [store flags]

One process that owns the store: starts the proxy (and, with --sim, the simulated voice stack in front of which
it is put), then runs simulated callers through it over the load profile, with a live status line, and prints a
table per step at the end. Ctrl-C ends the run early (callers finish their turn and hang up).

  --config FILE        hopwatch.yaml (default ./hopwatch.yaml when present; with --sim its upstreams are replaced)
  --sim                start the reference stack and put the proxy in front of it
  --sim-config FILE    its config (default: --preset default)
  --preset NAME        a built-in simulator preset
  --port N             the proxy's main port (default proxy.port; 0 with --sim and no config)
  --fail-on-breach     exit 1 when an SLO breaks at or below --expected-peak (default: every load tested), memory
                       rises during a soak, or the run is no evidence (cannot tell)
  --expected-peak N    the load the system must carry
${REPORT_FLAGS_HELP}
${LOAD_FLAGS_HELP}
${STORE_FLAGS_HELP}

Examples:
  hopwatch run --sim --max 40 --time-scale 10
  hopwatch run --config hopwatch.yaml --profile soak --level 20 --duration-s 3600

Exit codes: 0 the run completed; 1 rows could not be kept, or (with --fail-on-breach) an SLO broke; 2 bad flags or config.`

const FLAGS = { config: { type: 'string' }, sim: { type: 'boolean' }, 'sim-config': { type: 'string' }, preset: { type: 'string' }, port: { type: 'string' }, 'fail-on-breach': { type: 'boolean' }, 'expected-peak': { type: 'string' }, ...REPORT_FLAGS, ...LOAD_FLAGS, ...STORE_FLAGS } as const

/** The proxy's upstreams in front of the simulator's services, each on a prefix of the main port. */
export function simUpstreams(services: readonly SimEndpoint[]): Array<Record<string, string>> {
  return services.map((s) => {
    const base = { name: s.name, component: s.kind, prefix: `/${s.name}` }
    switch (s.kind) {
      case 'stt':
        return { ...base, adapter: 'deepgram', target: s.url }
      case 'llm':
      case 'tts':
        return { ...base, adapter: 'openai', target: `${s.url}/v1` }
      case 's2s':
        return { ...base, adapter: 'openai-realtime', target: `${s.url.replace(/^http/, 'ws')}/v1` }
      case 'backend':
        return { ...base, adapter: 'http', target: s.url }
      case 'router':
        return { ...base, adapter: 'openai', target: `${s.url}/v1` }
    }
  })
}

/**
 * A simulated router sends to its LLMs through the proxy, so the routed hops are recorded too: its routes are
 * re-pointed from the LLM services to the proxy's URLs for them.
 */
export async function pointRoutersAtProxy(config: SimConfig, sim: RunningSim, proxy: RunningProxy): Promise<void> {
  for (const service of config.services.filter((s) => s.kind === 'router')) {
    const routes = Object.fromEntries(service.routes.filter((r) => r.service !== undefined).map((r) => [r.name, proxy.upstreamUrls.get(r.service as string)]))
    const endpoint = sim.services.find((s) => s.name === service.name)
    const res = await fetch(`${endpoint?.url ?? ''}/_sim/routes`, { method: 'PUT', body: JSON.stringify(routes), headers: { 'content-type': 'application/json' } })
    if (!res.ok) throw new Error(`could not point router ${service.name} at the proxy: ${res.status} ${await res.text()}`)
  }
}

export interface RunOptions {
  values: Record<string, string | boolean | undefined>
  source: 'run' | 'demo'
  /** overrides applied before the flags (the demo's compressed ramp) */
  defaults?: Record<string, unknown>
  simPreset?: string
  /** the demo runs the same everywhere: it reads no hopwatch.yaml */
  ignoreConfigFile?: boolean
}

/** `hopwatch run` */
export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS, 'run')
  if (values.help === true) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  return runLoad({ values, source: 'run' })
}

/** Proxy (+ simulator) + callers in one process; shared by `run` and `demo`. */
export async function runLoad(options: RunOptions): Promise<number> {
  const { values } = options
  const useSim = values.sim === true || options.simPreset !== undefined
  const configPath = options.ignoreConfigFile === true ? undefined : (stringFlag(values.config) ?? (existsSync('hopwatch.yaml') ? 'hopwatch.yaml' : undefined))
  const raw = (configPath !== undefined ? parseYaml(await readConfigText(configPath), configPath) : {}) as Record<string, unknown>
  const shard = parseShard(stringFlag(values.shard) ?? '1/1')
  if (shard === undefined) throw new CliError('HW_CLI_USAGE', `--shard takes i/N with 1 ≤ i ≤ N, got ${JSON.stringify(values.shard)}`)

  let sim: RunningSim | undefined
  let simConfig: SimConfig | undefined
  const stops: Array<() => Promise<void>> = []
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {})
  }
  try {
    if (useSim) {
      const simConfigPath = stringFlag(values['sim-config'])
      simConfig = simConfigPath !== undefined ? await loadSimConfigFile(simConfigPath) : presetConfig(options.simPreset ?? stringFlag(values.preset) ?? 'default')
      sim = await startSim(simConfig)
      stops.push(() => (sim as RunningSim).close())
      raw.upstreams = simUpstreams(sim.services)
      if (configPath === undefined) raw.proxy = { ...(raw.proxy as object | undefined), port: 0 }
    } else if (configPath === undefined) {
      throw new CliError('HW_CLI_USAGE', 'no hopwatch.yaml here: pass --config FILE, or --sim to run against the simulated stack')
    }
    const config: HopwatchConfig = validateConfig(raw, configPath ?? 'the command line', {
      adapters: ADAPTER_NAMES,
      overrides: { ...options.defaults, ...given({ 'proxy.port': intFlag(values.port, 'port'), ...loadOverrides(values), ...storeOverrides(values) }) },
    })
    const runId = config.run.id ?? newRunId(options.source)
    const recording = await Recording.start(config, { runId, source: options.source, load: true })
    let closed = false
    const closeRecording = async () => {
      if (closed) return { dropped: 0, report: '', warning: '' }
      closed = true
      return recording.close()
    }
    stops.push(async () => void (await closeRecording()))

    const simProcesses = config.resources.sim ? (sim?.services ?? []).filter((s) => s.process === 'separate').map((s) => ({ name: `sim-${s.name}`, pid: s.pid })) : []
    const watching = Watching.start(config, recording, { generator: true, processes: simProcesses })
    let watched = false
    const stopWatching = async () => {
      if (!watched) await watching.stop()
      watched = true
    }
    stops.push(stopWatching)
    const tracing = tracingFor(config)
    let traced: Awaited<ReturnType<NonNullable<typeof tracing>['stop']>> | undefined
    const stopTracing = async () => {
      traced ??= await tracing?.stop()
    }
    stops.push(stopTracing)
    const agentTraces = agentTracesFor(config, recording, true)
    let proxy: RunningProxy | undefined
    const metrics = new ProxyMetrics(
      () => inFlightOf(proxy?.upstreams ?? []),
      () => recording.stats(),
      { alerts: () => watching.stats().alerts, tracing: () => tracing?.counts(), receiver: () => agentTraces?.stats(), dns: () => upstreamDns.counts() },
    )
    stops.push(async () => metrics.dispose())
    proxy = await startProxy({ config, runId, ...(agentTraces !== undefined ? { otlp: agentTraces } : {}), admin: { ...recording.storeHooks(), metrics: () => metrics.render(), stats: () => ({ run_id: runId, store: recording.stats(), ...watching.stats(), agent_spans: agentTraces?.stats() }) } })
    agentTraces?.listening([proxy.url, ...proxy.upstreamUrls.values()])
    stops.push(async () => {
      await (proxy as RunningProxy).close()
      agentTraces?.close()
    })
    await recording.own(proxy)
    if (sim !== undefined && simConfig !== undefined) await pointRoutersAtProxy(simConfig, sim, proxy)

    const { targets, problems } = targetsFromUpstreams(config.upstreams, (name) => proxy?.upstreamUrls.get(name) ?? '')
    for (const p of problems) process.stderr.write(`hopwatch: warning: ${p}\n`)
    const plan = await planFromConfig(config.load, { runId, targets, shard })
    const steps = plan.steps
    const loadRun = new LoadRun(plan)
    const monitor = new RunMonitor(runId, () => loadRun.snapshot().step)
    stops.push(async () => monitor.dispose())

    // the stop handlers before the first line a watcher could act on: a signal then ends the run cleanly
    const onSignal = () => {
      process.stdout.write('\nhopwatch: ending the run: callers finish their turn and hang up…\n')
      loadRun.stop()
    }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    const totalS = steps.reduce((s, x) => s + x.duration_s, 0) / config.load.time_scale
    process.stdout.write(`hopwatch ${options.source} ${VERSION}: run ${runId}\n`)
    process.stdout.write(`  ${config.load.architecture} callers, ${config.load.model} model, ${config.load.profile} over ${steps.length} steps (${steps.map((s) => s.target).join(', ')}), about ${Math.round(totalS)} s at time scale ${config.load.time_scale}\n`)
    process.stdout.write(`  proxy ${proxy.url}${sim !== undefined ? `, simulator ${sim.services.map((s) => s.name).join(', ')}` : ''}\n  store ${recording.describe()}\n`)

    const tty = process.stdout.isTTY === true
    const ticker = setInterval(() => {
      const line = monitor.liveLine(loadRun.snapshot())
      process.stdout.write(tty ? `\r\x1b[2K${line}` : `${line}\n`)
    }, tty ? 1000 : 5000)
    let result: Awaited<ReturnType<LoadRun['run']>>
    try {
      result = await loadRun.run()
    } finally {
      clearInterval(ticker)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      if (tty) process.stdout.write('\n')
    }
    await proxy.close()
    agentTraces?.close()
    await stopTracing()
    await stopWatching()
    // the verdict comes from what the store holds: every row of the run is written first
    await recording.flush()
    const analysis = await analyzeStoredRun((sql) => recording.sql(sql), config.store.database, runId).catch((err: Error) => {
      process.stderr.write(`hopwatch: warning: the analysis could not read the store (${err.message}); what this process saw:\n`)
      return undefined
    })
    const peak = intFlag(values['expected-peak'], 'expected-peak')
    if (analysis !== undefined) process.stdout.write(`\n${renderTable(analysis, peak, { slos: false })}`)
    else printSummary(monitor, result.steps)
    const htmlReport = analysis !== undefined && values['no-report'] !== true ? await writeRunReport(recording, config, analysis, stringFlag(values.report)) : undefined
    if (result.stoppedBy !== undefined) process.stdout.write(`\nstopped early: ${result.stoppedBy}\n`)
    const limited = result.steps.filter((o) => o.record.generator_limited === 1)
    if (limited.length > 0) process.stdout.write(`\nthe generator itself was the limit in step(s) ${limited.map((o) => o.record.step).join(', ')}: its event loop lagged or its CPU was saturated; those steps are not judged\n`)
    const { dropped, report, warning } = await closeRecording()
    process.stdout.write(`\nrows: \n${report}`)
    if (traced !== undefined) process.stdout.write(describeTraced(traced))
    process.stderr.write(warning)
    process.stdout.write(`\nrun ${runId} is in the store: hopwatch sql "SELECT step, count() FROM hopwatch.turns WHERE run_id = '${runId}' GROUP BY step ORDER BY step"\n`)
    await stopAll()
    // the k6-style ending: a line per SLO, last, so a CI log ends with what passed and what did not
    if (analysis !== undefined) process.stdout.write(renderSloChecks(analysis, peak))
    const gate = values['fail-on-breach'] === true && analysis !== undefined ? gateFailure(analysis, peak) : undefined
    if (gate !== undefined) process.stderr.write(`hopwatch: ${gate.split('\n').join('\nhopwatch: ')}\n`)
    if (htmlReport !== undefined) process.stdout.write(`\nreport: ${htmlReport}\n`)
    return dropped > 0 || gate !== undefined ? 1 : 0
  } catch (err) {
    await stopAll()
    throw err
  }
}

/** The run's HTML report, written while the recording can still be queried; a failure to write it is a warning. */
async function writeRunReport(recording: Recording, config: HopwatchConfig, analysis: Analysis, out: string | undefined): Promise<string | undefined> {
  const runId = analysis.run.run_id
  try {
    const written = await writeReport((sql) => recording.sql(sql), config.store.database, runId, (id) => out ?? defaultReportPath(config.store, id), { analysis })
    return written?.path
  } catch (err) {
    process.stderr.write(`hopwatch: warning: the HTML report could not be written (${(err as Error).message}); hopwatch report --run ${runId} writes it from the store\n`)
    return undefined
  }
}

function printSummary(monitor: RunMonitor, outcomes: readonly StepOutcome[]): void {
  const { header, rows } = monitor.summary(outcomes)
  process.stdout.write(`\nPer step (p95 of each component's latency as src/latency.ts defines it; response = user stops speaking → first agent audio):\n`)
  process.stdout.write(table(header, rows))
}
