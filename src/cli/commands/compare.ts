import { writeFile } from 'node:fs/promises'
import { compareSamples, DEGRADATION_DEFAULTS, levelSamples, type Comparison } from '../../analyze/index.js'
import { CliError } from '../errors.js'
import { parseFlags, stringFlag } from '../args.js'
import { table } from '../output.js'
import { STORE_FLAGS, STORE_FLAGS_HELP, storeQuery } from '../store-access.js'

export const usage = `Usage: hopwatch compare --run A --baseline B [--tolerance 0.2] [--format table|json] [--out FILE] [store flags]

Compares run A against run B level by level (steps matched on their target load) for each component and for the
callers' response latency: the change in p50 and p95 and whether it is real (a one-sided rank test, p < 0.01).
A p95 worse by more than the tolerance, significantly, is a regression, and fails the command.

  --run ID          the run under test
  --baseline ID     the run it is compared with
  --tolerance F     how much worse a p95 may be before it counts (default 0.2 = 20 %)
  --format FORMAT   table (default) or json
  --out FILE        write there instead of stdout
  --config FILE     hopwatch.yaml, for its store: section (default ./hopwatch.yaml when present)
${STORE_FLAGS_HELP}

Examples:
  hopwatch compare --run nightly-18 --baseline nightly-17

Exit codes: 0 no regression; 1 a regression (or a run is missing); 2 bad flags.`

const FLAGS = { config: { type: 'string' }, run: { type: 'string' }, baseline: { type: 'string' }, tolerance: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, ...STORE_FLAGS } as const

/** `hopwatch compare` */
export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS, 'compare')
  if (values.help === true) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const runId = stringFlag(values.run)
  const baselineId = stringFlag(values.baseline)
  if (runId === undefined || baselineId === undefined) throw new CliError('HW_CLI_USAGE', 'give both --run A and --baseline B (hopwatch compare --help)')
  const tolerance = values.tolerance === undefined ? 0.2 : Number(values.tolerance)
  if (!(tolerance >= 0 && tolerance < 10)) throw new CliError('HW_CLI_USAGE', `--tolerance takes a fraction such as 0.2, got ${JSON.stringify(values.tolerance)}`)
  const format = stringFlag(values.format) ?? 'table'
  if (format !== 'table' && format !== 'json') throw new CliError('HW_CLI_USAGE', `--format is table or json, not ${JSON.stringify(format)}`)
  const { query, database, close } = await storeQuery(values)
  try {
    const [a, b] = [await levelSamples(query, database, runId, 2000), await levelSamples(query, database, baselineId, 2000)]
    for (const [id, samples] of [[runId, a], [baselineId, b]] as const) {
      if (samples.size === 0) {
        process.stderr.write(`hopwatch: run ${id} has no steps with samples in the store\n`)
        return 1
      }
    }
    const comparison = compareSamples({ id: runId, samples: a }, { id: baselineId, samples: b }, { tolerance, alpha: DEGRADATION_DEFAULTS.alpha, minSamples: DEGRADATION_DEFAULTS.minSamples })
    const text = format === 'json' ? `${JSON.stringify(comparison, null, 2)}\n` : render(comparison)
    const out = stringFlag(values.out)
    if (out !== undefined) await writeFile(out, text)
    else process.stdout.write(text)
    return comparison.regressions.length > 0 ? 1 : 0
  } finally {
    await close()
  }
}

function render(c: Comparison): string {
  const head =
    c.regressions.length > 0
      ? `${c.regressions.length} regression(s) in ${c.run} against ${c.baseline}: ${c.regressions.map((r) => `${r.name} at ${r.load} (p95 ${r.p95_ms.baseline.toFixed(0)} → ${r.p95_ms.run.toFixed(0)} ms)`).join('; ')}.`
      : `No regression in ${c.run} against ${c.baseline} (tolerance ${(c.tolerance * 100).toFixed(0)} %).`
  return `${head}\n\n${table(
    ['load', 'latency', 'p50 before', 'p50 now', 'p95 before', 'p95 now', 'change', 'p', 'verdict'],
    c.rows.map((r) => [String(r.load), r.name, `${r.p50_ms.baseline.toFixed(0)} ms`, `${r.p50_ms.run.toFixed(0)} ms`, `${r.p95_ms.baseline.toFixed(0)} ms`, `${r.p95_ms.run.toFixed(0)} ms`, `${r.ratio >= 1 ? '+' : ''}${((r.ratio - 1) * 100).toFixed(0)} %`, Number.isNaN(r.p) ? '-' : r.p < 0.0001 ? '<0.0001' : r.p.toFixed(4), r.verdict]),
  )}`
}
