import { didYouMean } from '../edit-distance.js'
import { HopwatchError } from '../errors.js'
import { CliError } from './errors.js'
import * as alerts from './commands/alerts.js'
import * as analyze from './commands/analyze.js'
import * as compare from './commands/compare.js'
import * as demo from './commands/demo.js'
import * as init from './commands/init.js'
import * as load from './commands/load.js'
import * as proxy from './commands/proxy.js'
import * as report from './commands/report.js'
import * as runCommand from './commands/run.js'
import * as sim from './commands/sim.js'
import * as sql from './commands/sql.js'
import { VERSION } from './version.js'

/** Errors in what the user typed: exit code 2, as for a malformed config. */
const USAGE_CODES: ReadonlySet<string> = new Set(['HW_CLI_USAGE', 'HW_SIM_PRESET'])

interface Command {
  summary: string
  usage: string
  run(args: string[]): Promise<number>
}

/** Every subcommand by name; `hopwatch --help` lists them in this order. */
export const COMMANDS: Record<string, Command> = {
  alerts: { summary: 'the live alert rules as a Prometheus rule file (rules), or a run\'s alert state changes (list)', ...alerts },
  analyze: { summary: 'the verdict on a run: per-step percentiles, the first component to degrade, SLO breaches, capacity', ...analyze },
  compare: { summary: 'run A against run B per load level and component: significant regressions fail the command', ...compare },
  demo: { summary: 'a one-minute load test on this machine: simulated stack, proxy, ramping callers, per-step table', ...demo },
  load: { summary: 'only the simulated callers, against a proxy that runs elsewhere; turns and steps to the store', ...load },
  proxy: { summary: 'run the sidecar proxy: forward to STT/LLM/TTS/S2S/backend upstreams, time and store every hop', ...proxy },
  report: { summary: 'a run as one self-contained HTML file: verdict, ✓/✗ per SLO and step, charts over time and load, waterfalls', ...report },
  run: { summary: 'proxy (+ simulator with --sim) + simulated callers over a load profile, in one process that owns the store', usage: runCommand.usage, run: runCommand.run },
  sim: { summary: 'start the reference voice stack: simulated STT, LLM, TTS, S2S and backend with capacity limits and faults', ...sim },
  sql: { summary: 'run a SQL query on the store and print JSON lines', ...sql },
  init: { summary: 'write a commented hopwatch.yaml to start from', ...init },
}

const USAGE = `hopwatch ${VERSION}: load-test voice AI agents and find the component that breaks first.

Usage: hopwatch COMMAND [flags]     (hopwatch COMMAND --help for its flags)

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)
  .join('\n')}`

/** Runs the CLI; returns the exit code. Errors are printed with their code, never as a stack trace. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined
    process.stdout.write(`${topic !== undefined && COMMANDS[topic] !== undefined ? COMMANDS[topic].usage : USAGE}\n`)
    return name === undefined ? 2 : 0
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${VERSION}\n`)
    return 0
  }
  const command = COMMANDS[name]
  try {
    if (command === undefined) throw new CliError('HW_CLI_USAGE', `unknown command "${name}".${didYouMean(name, Object.keys(COMMANDS), (c) => `hopwatch ${c}`)} The commands are ${Object.keys(COMMANDS).join(', ')} (hopwatch --help)`)
    return await command.run(rest)
  } catch (err) {
    if (err instanceof HopwatchError) {
      process.stderr.write(`hopwatch: ${err.code}: ${err.message}\n`)
      return USAGE_CODES.has(err.code) || err.code.startsWith('HW_CONFIG_') ? 2 : 1
    }
    process.stderr.write(`hopwatch: unexpected error: ${(err as Error).stack ?? String(err)}\n`)
    return 1
  }
}
