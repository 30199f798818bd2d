import { gateFailure } from '../../report/gate.js'
import { writeFile } from 'node:fs/promises'
import { analyzeStoredRun, DEFAULT_SLOS, loadSlos } from '../../analyze/index.js'
import { renderTable } from '../../report/summary.js'
import { junitXml } from '../../report/junit.js'
import { CliError } from '../errors.js'
import { parseFlags, stringFlag } from '../args.js'
import { STORE_FLAGS, STORE_FLAGS_HELP, storeQuery } from '../store-access.js'

export const usage = `Usage: hopwatch analyze [--run ID] [--slo FILE] [--window S] [--format table|json|junit] [--out FILE]
                        [--fail-on-breach [--expected-peak N]] [--config hopwatch.yaml] [store flags]

Analyses a run (the latest with turns by default): per step, the callers' response latency and outcomes and each
component's p50/p95/p99 and error rate, aggregated in ClickHouse; then each component's degradation point (p95 up
at least max(20 %, 50 ms) on the two lowest valid loads, a cluster bootstrap with Holm's adjustment, confirmed), the first component to
degrade and how much of the response-time growth each component explains (per-turn critical paths), SLO
breaches (response p95 1.5 s, STT 800 ms, LLM 1.5 s, TTS 600 ms, network 300 ms, success 95 %) and the capacity.

  --run ID            the run to analyse (default: the latest with turns or hops)
  --window S          a run with neither load steps nor turns (the proxy alone in front of real traffic) is judged
                      over time in windows of S seconds (default 60), against its first two
  --slo FILE          SLOs in YAML (response_p95_ms, success_min, components_p95_ms: {stt, llm, tts, network, …});
                      what it leaves out keeps the default
  --format FORMAT     table (default), json, or junit (a test case per SLO, failed when broken up to the peak)
  --out FILE          write there instead of stdout
  --fail-on-breach    exit 1 when an SLO is broken at or below --expected-peak (default: every load tested), when
                      memory rises during a soak (a run at one load), or when the run is no evidence (cannot tell)
  --expected-peak N   the load the system must carry
  --config FILE       hopwatch.yaml, for its store: section (default ./hopwatch.yaml when present)
${STORE_FLAGS_HELP}

Examples:
  hopwatch analyze
  hopwatch analyze --run nightly-17 --fail-on-breach --expected-peak 25 --format junit --out hopwatch.xml

Exit codes: 0 analysed; 1 no such run, the store failed, or (with --fail-on-breach) an SLO broke; 2 bad flags.`

const FLAGS = { config: { type: 'string' }, run: { type: 'string' }, window: { type: 'string' }, slo: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, 'fail-on-breach': { type: 'boolean' }, 'expected-peak': { type: 'string' }, ...STORE_FLAGS } as const

/** `hopwatch analyze` */
export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS, 'analyze')
  if (values.help === true) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const format = stringFlag(values.format) ?? 'table'
  if (format !== 'table' && format !== 'json' && format !== 'junit') throw new CliError('HW_CLI_USAGE', `--format is table, json or junit, not ${JSON.stringify(format)}`)
  const peak = values['expected-peak'] === undefined ? undefined : Number(values['expected-peak'])
  if (peak !== undefined && !(peak > 0)) throw new CliError('HW_CLI_USAGE', `--expected-peak takes a positive load, got ${JSON.stringify(values['expected-peak'])}`)
  const windowS = values.window === undefined ? undefined : Number(values.window)
  if (windowS !== undefined && !(windowS > 0 && Number.isFinite(windowS))) throw new CliError('HW_CLI_USAGE', `--window takes seconds (a positive number), got ${JSON.stringify(values.window)}`)
  const sloPath = stringFlag(values.slo)
  const slos = sloPath !== undefined ? await loadSlos(sloPath) : DEFAULT_SLOS
  const { query, database: db, close } = await storeQuery(values)
  try {
    const analysis = await analyzeStoredRun(query, db, stringFlag(values.run), { slos, ...(windowS !== undefined ? { windowS } : {}) })
    if (analysis === undefined) {
      process.stderr.write(`hopwatch: no ${values.run !== undefined ? `run ${String(values.run)}` : 'run with turns'} in the store\n`)
      return 1
    }
    const text = format === 'json' ? `${JSON.stringify(analysis, null, 2)}\n` : format === 'junit' ? junitXml(analysis, slos, peak) : renderTable(analysis, peak)
    const out = stringFlag(values.out)
    if (out !== undefined) await writeFile(out, text)
    else process.stdout.write(text)
    const gate = values['fail-on-breach'] === true ? gateFailure(analysis, peak) : undefined
    if (gate !== undefined) {
      process.stderr.write(`hopwatch: ${gate.split('\n').join('\nhopwatch: ')}\n`)
      return 1
    }
    return 0
  } finally {
    await close()
  }
}
