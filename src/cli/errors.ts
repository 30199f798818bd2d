import { HopwatchError, type ErrorCodeDoc } from '../errors.js'

export const CLI_ERRORS = {
  HW_CLI_USAGE: { meaning: 'the command line is wrong: an unknown command or flag, or a missing argument', fix: 'run `hopwatch --help` or `hopwatch COMMAND --help`' },
  HW_CLI_EXISTS: { meaning: 'the file `hopwatch init` would write already exists', fix: 'remove it, or pass --force to overwrite it' },
} as const satisfies Record<string, ErrorCodeDoc>

export class CliError extends HopwatchError<keyof typeof CLI_ERRORS> {}
