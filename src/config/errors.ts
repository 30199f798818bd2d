import { HopwatchError, type ErrorCodeDoc } from '../errors.js'
import { describeValue, type ConfigProblem } from './validate.js'

export const CONFIG_ERRORS = {
  HW_CONFIG_NOT_FOUND: { meaning: 'the config file does not exist or cannot be read', fix: 'pass --config PATH to an existing hopwatch.yaml, or run `hopwatch init` to write one' },
  HW_CONFIG_YAML: { meaning: 'the config file is not valid YAML', fix: 'correct the YAML at the line and column named in the message' },
  HW_CONFIG_INVALID: { meaning: 'one or more settings are wrong; the message lists each with its path, value and fix', fix: 'change each setting as the message says' },
} as const satisfies Record<string, ErrorCodeDoc>

export type ConfigErrorCode = keyof typeof CONFIG_ERRORS

export class ConfigError extends HopwatchError<ConfigErrorCode> {
  readonly problems: readonly ConfigProblem[]

  constructor(code: ConfigErrorCode, message: string, problems: readonly ConfigProblem[] = [], options?: { cause?: unknown }) {
    super(code, message, options)
    this.problems = problems
  }
}

/** One line per problem: path, value, what is wrong, how to fix it. */
export function formatProblems(source: string, problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => `  - ${p.path || '(top level)'}: ${describeValue(p.value)} ${p.message}. Fix: ${p.fix}`)
  return `${source} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${lines.join('\n')}`
}
