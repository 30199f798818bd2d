import { redactUrl } from '../redact.js'
import { closest } from '../edit-distance.js'

/**
 * A small validating schema: each validator checks one value at a path, records every problem (it never stops at the
 * first), and returns the value with defaults filled in. The inferred return types are the config's types.
 */

export interface ConfigProblem {
  /** where the value is, e.g. `upstreams[2].target` */
  path: string
  /** the offending value, as found */
  value: unknown
  /** what is wrong */
  message: string
  /** how to fix it */
  fix: string
}

export interface Context {
  problems: ConfigProblem[]
}

export type Validator<T> = (value: unknown, path: string, ctx: Context) => T

function problem(ctx: Context, path: string, value: unknown, message: string, fix: string): void {
  ctx.problems.push({ path, value, message, fix })
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null || typeof value !== 'object') return String(value)
  const json = JSON.stringify(value)
  if (json.length <= 80) return json
  return Array.isArray(value) ? 'a list' : 'a mapping'
}

/** A string, optionally matched against a pattern. */
export function str(opts: { pattern?: RegExp; fix: string; nonEmpty?: boolean }): Validator<string> {
  return (value, path, ctx) => {
    if (typeof value !== 'string') {
      problem(ctx, path, value, 'must be a string', opts.fix)
      return ''
    }
    if (opts.nonEmpty === true && value.length === 0) problem(ctx, path, value, 'must not be empty', opts.fix)
    else if (opts.pattern !== undefined && !opts.pattern.test(value)) problem(ctx, path, value, `must match ${opts.pattern}`, opts.fix)
    return value
  }
}

/** A whole number in [min, max]. */
export function int(opts: { min: number; max: number; fix?: string }): Validator<number> {
  admitsSome(opts)
  return (value, path, ctx) => {
    const fix = opts.fix ?? `use a whole number from ${opts.min} to ${opts.max}`
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      problem(ctx, path, value, 'must be a whole number', fix)
      return opts.min
    }
    if (value < opts.min || value > opts.max) problem(ctx, path, value, `must be from ${opts.min} to ${opts.max}`, fix)
    return value
  }
}

/** A schema mistake (`max: 1 << 40` is 256) fails where the schema is defined, not at a user's first config. */
function admitsSome(opts: { min: number; max: number }): void {
  if (!(opts.min <= opts.max)) throw new Error(`a bound from ${opts.min} to ${opts.max} admits no value`)
}

/** A number in [min, max], fractions allowed. */
export function num(opts: { min: number; max: number; fix?: string }): Validator<number> {
  admitsSome(opts)
  return (value, path, ctx) => {
    const fix = opts.fix ?? `use a number from ${opts.min} to ${opts.max}`
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      problem(ctx, path, value, 'must be a number', fix)
      return opts.min
    }
    if (value < opts.min || value > opts.max) problem(ctx, path, value, `must be from ${opts.min} to ${opts.max}`, fix)
    return value
  }
}

export function bool(): Validator<boolean> {
  return (value, path, ctx) => {
    if (typeof value !== 'boolean') {
      problem(ctx, path, value, 'must be true or false', 'write true or false without quotes')
      return false
    }
    return value
  }
}

/** One of a fixed list of strings. */
export function oneOf<const T extends readonly string[]>(choices: T): Validator<T[number]> {
  return (value, path, ctx) => {
    if (typeof value !== 'string' || !choices.includes(value)) {
      const near = typeof value === 'string' ? closest(value, choices) : undefined
      problem(ctx, path, value, `must be one of ${choices.join(', ')}`, near !== undefined ? `did you mean "${near}"?` : `pick one of ${choices.join(', ')}`)
      return choices[0] as T[number]
    }
    return value as T[number]
  }
}

/** An absolute URL with one of the given protocols, without credentials in it. */
export function url(opts: { protocols: readonly string[]; example: string }): Validator<string> {
  return (value, path, ctx) => {
    const fix = `set it to a URL such as ${opts.example}`
    if (typeof value !== 'string') {
      problem(ctx, path, value, 'must be a URL string', fix)
      return opts.example
    }
    let parsed: URL
    try {
      parsed = new URL(value)
    } catch {
      problem(ctx, path, value, 'is not a valid absolute URL', fix)
      return opts.example
    }
    // the value is shown in the message: never with the secrets a URL can carry
    const shown = redactUrl(value)
    if (!opts.protocols.includes(parsed.protocol.slice(0, -1))) {
      problem(ctx, path, shown, `must use ${opts.protocols.map((p) => `${p}://`).join(' or ')}`, fix)
    } else if (parsed.username !== '' || parsed.password !== '') {
      problem(ctx, path, shown, 'must not carry credentials', 'remove user:password@ from the URL; callers send their own credentials in headers, which the proxy forwards and never stores')
    } else if (parsed.search !== '' || parsed.hash !== '') {
      problem(ctx, path, shown, 'must not have a query string or fragment', 'keep only scheme, host, port and an optional base path')
    }
    return value
  }
}

/** Absent (undefined or null) becomes the default; anything else is checked. */
export function withDefault<T>(validator: Validator<T>, fallback: T): Validator<T> {
  return (value, path, ctx) => (value === undefined || value === null ? fallback : validator(value, path, ctx))
}

/** Absent stays undefined. */
export function optional<T>(validator: Validator<T>): Validator<T | undefined> {
  return (value, path, ctx) => (value === undefined || value === null ? undefined : validator(value, path, ctx))
}

type Shape = Record<string, Validator<unknown>>
type Out<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> }

/** A mapping with exactly these keys: unknown keys are reported with the nearest known one. */
export function obj<S extends Shape>(shape: S): Validator<Out<S>> {
  const known = Object.keys(shape)
  return (value, path, ctx) => {
    const source: Record<string, unknown> = {}
    if (value === undefined || value === null) {
      // an absent section takes every default; required fields inside it report themselves
    } else if (typeof value !== 'object' || Array.isArray(value)) {
      problem(ctx, path, value, 'must be a mapping (key: value lines)', 'indent its fields under it')
    } else {
      Object.assign(source, value)
      for (const key of Object.keys(source)) {
        if (!known.includes(key)) {
          const near = closest(key, known)
          problem(ctx, join(path, key), source[key], 'is not a known setting', near !== undefined ? `did you mean "${near}"?` : `remove it; known here: ${known.join(', ')}`)
        }
      }
    }
    const out: Record<string, unknown> = {}
    for (const key of known) out[key] = (shape[key] as Validator<unknown>)(source[key], join(path, key), ctx)
    return out as Out<S>
  }
}

/** A list whose items are each checked. */
export function list<T>(item: Validator<T>, opts: { min: number; fix: string }): Validator<T[]> {
  return (value, path, ctx) => {
    if (value === undefined || value === null) value = []
    if (!Array.isArray(value)) {
      problem(ctx, path, value, 'must be a list (lines starting with "- ")', opts.fix)
      return []
    }
    if (value.length < opts.min) problem(ctx, path, value, `needs at least ${opts.min} item${opts.min === 1 ? '' : 's'}`, opts.fix)
    return value.map((v, i) => item(v, `${path}[${i}]`, ctx))
  }
}

