import { parseArgs, type ParseArgsConfig } from 'node:util'
import { CliError } from './errors.js'

type Options = NonNullable<ParseArgsConfig['options']>

/** Parses a command's flags strictly: an unknown flag is a usage error naming it. */
export function parseFlags<O extends Options>(args: string[], options: O, command: string): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
    return { values: values as Record<string, string | boolean | undefined>, positionals }
  } catch (err) {
    throw new CliError('HW_CLI_USAGE', `${(err as Error).message.replace(/\. To specify.*$/s, '')}. Run \`hopwatch ${command} --help\`.`)
  }
}

/** An integer flag, or a usage error. */
export function intFlag(value: string | boolean | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (typeof value !== 'string' || !Number.isInteger(n)) throw new CliError('HW_CLI_USAGE', `--${flag} takes a whole number, got ${JSON.stringify(value)}`)
  return n
}

/** A number flag (fractions allowed), or a usage error. */
export function numberFlag(value: string | boolean | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (typeof value !== 'string' || !Number.isFinite(n)) throw new CliError('HW_CLI_USAGE', `--${flag} takes a number, got ${JSON.stringify(value)}`)
  return n
}

export function stringFlag(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined
}
