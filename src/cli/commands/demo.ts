import { parseFlags } from '../args.js'
import { STORE_FLAGS, STORE_FLAGS_HELP } from '../store-access.js'
import { DEGRADATION_DEFAULTS } from '../../analyze/index.js'
import { REPORT_FLAGS, REPORT_FLAGS_HELP, runLoad } from './run.js'

export const usage = `Usage: hopwatch demo [--store DIR] [--time-scale F] [--max N] [--report FILE | --no-report]

The whole product in about a minute, on this machine alone: the simulated voice stack (preset default: the LLM
is the first bottleneck), the proxy in front of it, cascaded callers ramping 10, 13, 16, 20, 25, 31 concurrent
conversations (100 s steps, compressed 10×, each extended until 100 of its turns have ended: a p95 needs them), recorded into the embedded store (./.hopwatch), then the per-step
table, the ✓/✗ line per SLO, and the run's HTML report (its path last). Afterwards: hopwatch sql "SELECT … FROM hopwatch.turns" reads what it recorded.

  --time-scale F   compress further (default 10)
  --max N          ramp up to N conversations (default 31)
${REPORT_FLAGS_HELP}
${STORE_FLAGS_HELP}

Examples:
  hopwatch demo
  hopwatch demo --store /tmp/hw-demo --time-scale 20

Exit codes: 0 the demo ran; 1 rows could not be kept; 2 bad flags.`

const FLAGS = { 'time-scale': { type: 'string' }, max: { type: 'string' }, ...REPORT_FLAGS, ...STORE_FLAGS } as const

/** `hopwatch demo` */
export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS, 'demo')
  if (values.help === true) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  return runLoad({
    values,
    source: 'demo',
    simPreset: 'default',
    ignoreConfigFile: true,
    defaults: { 'load.profile': 'ramp', 'load.start': 10, 'load.factor': 1.25, 'load.step_s': 100, 'load.max': 31, 'load.time_scale': 10, 'load.min_turns_per_step': DEGRADATION_DEFAULTS.minSamples, 'run.name': 'hopwatch demo' },
  })
}
