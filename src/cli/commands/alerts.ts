import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { prometheusRules } from '../../alerts/index.js'
import { parseYaml, readConfigText, validateAlertsConfig } from '../../config/index.js'
import { CliError } from '../errors.js'
import { parseFlags, stringFlag } from '../args.js'
import { STORE_FLAGS, STORE_FLAGS_HELP, storeQuery } from '../store-access.js'
import { table } from '../output.js'
import { analysisQueries as Q } from '../../store/index.js'

export const usage = `Usage: hopwatch alerts rules [--config hopwatch.yaml] [--out FILE]
       hopwatch alerts list [--run ID] [store flags]

  rules   the live alert rules of the config's alerts: section as a Prometheus rule file over the proxy's /metrics
          (defaults when there is no config); load it with rule_files: in prometheus.yml, or as a PrometheusRule
          (helm/hopwatch ships the default one)
  list    the alert state changes of a run (default: the latest run): pending, firing, resolved

  --config FILE   hopwatch.yaml (default ./hopwatch.yaml when present)
  --out FILE      rules: write the rule file there instead of stdout
  --run ID        list: the run (default: the latest)
${STORE_FLAGS_HELP}

Examples:
  hopwatch alerts rules --out hopwatch-rules.yml && promtool check rules hopwatch-rules.yml
  hopwatch alerts list --run soak-42

Exit codes: 0 ok; 1 the store could not be read; 2 bad flags or config.`

const FLAGS = { config: { type: 'string' }, out: { type: 'string' }, run: { type: 'string' }, ...STORE_FLAGS } as const

/** `hopwatch alerts` */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, FLAGS, 'alerts')
  if (values.help === true) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const [sub] = positionals
  if (sub === 'rules') {
    const configPath = stringFlag(values.config) ?? (existsSync('hopwatch.yaml') ? 'hopwatch.yaml' : undefined)
    const raw = configPath !== undefined ? parseYaml(await readConfigText(configPath), configPath) : {}
    const text = prometheusRules(validateAlertsConfig(raw, configPath ?? 'the defaults'))
    const out = stringFlag(values.out)
    if (out !== undefined) await writeFile(out, text)
    else process.stdout.write(text)
    return 0
  }
  if (sub === 'list') {
    const { query, database, close } = await storeQuery(values)
    try {
      const run = await Q.findRun(query, database, stringFlag(values.run))
      if (run === undefined) throw new CliError('HW_CLI_USAGE', values.run !== undefined ? `no run ${String(values.run)} in the store` : 'the store has no run yet')
      const rows = (await Q.alertChanges(query, database, run.run_id)).map((r) => [new Date(r.at_us / 1000).toISOString(), r.state, r.rule, r.component, r.message])
      process.stdout.write(rows.length === 0 ? `no alert changed state in run ${run.run_id}\n` : table(['at', 'state', 'rule', 'about', 'what'], rows))
    } finally {
      await close()
    }
    return 0
  }
  throw new CliError('HW_CLI_USAGE', `hopwatch alerts takes rules or list, got ${sub === undefined ? 'nothing' : JSON.stringify(sub)} (hopwatch alerts --help)`)
}
