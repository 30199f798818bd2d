import { DEFAULT_SLOS, loadSlos } from '../../analyze/index.js'
import { parseFlags, stringFlag } from '../args.js'
import { defaultReportPath, writeReport } from '../report-file.js'
import { STORE_FLAGS, STORE_FLAGS_HELP, storeQuery } from '../store-access.js'

export const usage = `Usage: hopwatch report [--run ID] [--out FILE] [--slo FILE] [--config hopwatch.yaml] [store flags]

Writes one self-contained HTML file for a run (the latest with turns or hops by default): the verdict, ✓/✗ for
every SLO at every step, response and component percentiles over time and per step, the ramp with the degraded
step and the capacity marked, where the response time went, waterfalls of the median and the slowest turns,
errors, spike recovery, resources with their trends, alerts, the generator's health, and the analysis as JSON.
It opens offline: the chart library (uPlot) and the data are inside, and the page may make no request at all.
\`hopwatch run\` and \`hopwatch demo\` write it at the end of every run.

  --run ID      the run (default: the latest with turns or hops)
  --out FILE    where to write it (default: hopwatch-report-<run>.html beside the store's folder; here for a server)
  --slo FILE    SLOs in YAML, as for hopwatch analyze
  --config FILE hopwatch.yaml, for its store: section (default ./hopwatch.yaml when present)
${STORE_FLAGS_HELP}

Examples:
  hopwatch report
  hopwatch report --run nightly-17 --out nightly-17.html

Exit codes: 0 written; 1 no such run, or the store failed; 2 bad flags.`

const FLAGS = { config: { type: 'string' }, run: { type: 'string' }, out: { type: 'string' }, slo: { type: 'string' }, ...STORE_FLAGS } as const

/** \`hopwatch report\` */
export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS, 'report')
  if (values.help === true) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const sloPath = stringFlag(values.slo)
  const slos = sloPath !== undefined ? await loadSlos(sloPath) : DEFAULT_SLOS
  const out = stringFlag(values.out)
  const { query, database, config: storeConfig, close } = await storeQuery(values)
  try {
    const written = await writeReport(query, database, stringFlag(values.run), (runId) => out ?? defaultReportPath(storeConfig, runId), { slos })
    if (written === undefined) {
      process.stderr.write(`hopwatch: no ${values.run !== undefined ? `run ${String(values.run)}` : 'run with turns or hops'} in the store\n`)
      return 1
    }
    process.stdout.write(`report of run ${written.runId} (${(written.bytes / 1024).toFixed(0)} KB): ${written.path}\n`)
    return 0
  } finally {
    await close()
  }
}
