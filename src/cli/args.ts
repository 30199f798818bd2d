import { parseArgs, type ParseArgsConfig } from 'node:util'
import { didYouMean } from '../edit-distance.js'
import { CliError } from './errors.js'

type Options = NonNullable<ParseArgsConfig['options']>

/**
 * Parses a command's flags strictly: an unknown flag is a usage error naming it (and the flag it likely meant); a
 * value that starts with "-" but is a number (`--max -5`) is taken as the value, for the flag's own check to judge.
 */
export function parseFlags<O extends Options>(args: string[], options: O, command: string): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const all: Options = { ...options, help: { type: 'boolean', short: 'h' } }
  const joined: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const next = args[i + 1]
    const name = arg.startsWith('--') ? arg.slice(2) : undefined
    if (name !== undefined && !name.includes('=') && all[name]?.type === 'string' && next !== undefined && /^-\.?\d/.test(next)) {
      joined.push(`${arg}=${next}`)
      i++
    } else joined.push(arg)
  }
  try {
    const { values, positionals } = parseArgs({ args: joined, options: all, allowPositionals: true, strict: true })
    return { values: values as Record<string, string | boolean | undefined>, positionals }
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify.*$/s, '').replace(/\s+/g, ' ').trim()
    const unknown = /^Unknown option '--?([^']+)'/.exec(message)?.[1]
    const hint = unknown === undefined ? '' : didYouMean(unknown, Object.keys(all), (flag) => `--${flag}`)
    throw new CliError('HW_CLI_USAGE', `${message}.${hint} Run \`hopwatch ${command} --help\`.`)
  }
}

/** An integer flag (0 or more: no hopwatch flag counts below zero), or a usage error naming the flag. */
export function intFlag(value: string | boolean | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN
  if (!Number.isInteger(n)) throw new CliError('HW_CLI_USAGE', `--${flag} takes a whole number, got ${JSON.stringify(value)}`)
  if (n < 0) throw new CliError('HW_CLI_USAGE', `--${flag} takes a whole number of 0 or more, got ${value}`)
  return n
}

/** A number flag (fractions allowed, 0 or more), or a usage error naming the flag. */
export function numberFlag(value: string | boolean | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN
  if (!Number.isFinite(n)) throw new CliError('HW_CLI_USAGE', `--${flag} takes a number, got ${JSON.stringify(value)}`)
  if (n < 0) throw new CliError('HW_CLI_USAGE', `--${flag} takes a number of 0 or more, got ${value}`)
  return n
}

export function stringFlag(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined
}
