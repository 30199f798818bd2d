import { ConfigError, formatProblems, parseYaml, readConfigText } from '../config/index.js'
import { int, list, num, obj, oneOf, optional, str, withDefault, type Context, type Validator } from '../config/validate.js'
import { SIM_DEFAULTS } from './defaults.js'
import type { Spread } from './random.js'

export const SERVICE_KINDS = ['stt', 'llm', 'tts', 's2s', 'backend', 'router'] as const
export type ServiceKind = (typeof SERVICE_KINDS)[number]

/** What a planted error looks like to the caller. */
export const FAULT_KINDS = ['500', '429', '503', 'timeout', 'reset'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export interface Slowdown {
  /** seconds after the service starts */
  after_s: number
  /** seconds over which service times grow to `factor` × */
  ramp_s: number
  factor: number
  /** seconds held at `factor` before recovering; 0 = until the end */
  for_s: number
}

export interface Faults {
  errors: { rate: number; kind: FaultKind }
  leak: { bytes_per_request: number; limit_bytes: number }
  slowdown: Slowdown | undefined
  /** the fraction of requests (or streams) whose connection is reset part-way through */
  drop_connections: number
}

export interface ServiceConfig extends Faults {
  name: string
  kind: ServiceKind
  /** 0 = any free port */
  port: number
  process: 'inline' | 'separate'
  workers: number
  queue: number
  reject_status: 429 | 503
  /** open TCP connections at most; 0 = no cap. Connections beyond it are closed as soon as they are accepted. */
  max_connections: number
  /** stt: end of audio → final transcript; backend: the whole request */
  latency: Spread
  /** llm */
  ttft: Spread
  tokens_per_s: number
  reply_words: { min: number; max: number }
  /** tts, s2s */
  ttfb: Spread
  realtime_factor: number
  chars_per_s: number
  /** stt */
  wer: { base: number; growth: number }
  interim_ms: number
  idle_timeout_ms: number
  /** router: where chat completions go (an LLM service of this config by name, or a URL) */
  routes: RouteConfig[]
}

export interface RouteConfig {
  name: string
  /** an llm service of this simulator, or */
  service: string | undefined
  /** an OpenAI-compatible base URL (…/v1) */
  url: string | undefined
  /** requests asking for this model go to this route; the rest are shared by weight */
  model: string | undefined
  weight: number
}

export interface SimConfig {
  seed: number
  host: string
  services: ServiceConfig[]
}

/** A YAML number or string among the choices (`kind: 500` and `kind: "500"` both mean 500). */
function oneOfLoose<const T extends readonly string[]>(choices: T): Validator<T[number]> {
  const inner = oneOf(choices)
  return (value, path, ctx) => inner(typeof value === 'number' ? String(value) : value, path, ctx)
}

function spread(fallback: Spread): Validator<Spread> {
  const ms = int({ min: 0, max: 3_600_000 })
  return (value, path, ctx) => {
    const s = withDefault(obj({ median_ms: withDefault(ms, fallback.median_ms), p95_ms: optional(ms) }), { median_ms: fallback.median_ms, p95_ms: undefined })(value, path, ctx)
    // a median alone is a fixed time
    const given = value === undefined || value === null
    const p95 = s.p95_ms ?? (given ? fallback.p95_ms : s.median_ms)
    if (p95 < s.median_ms) ctx.problems.push({ path: `${path}.p95_ms`, value: p95, message: `must not be below median_ms (${s.median_ms})`, fix: 'set p95_ms at or above median_ms; equal values give a fixed time' })
    return { median_ms: s.median_ms, p95_ms: p95 }
  }
}

const fraction = num({ min: 0, max: 1, fix: 'use a fraction from 0 to 1, e.g. 0.02 for 2 %' })

/** The settings every kind has; `kindOnly` adds the ones that mean something for this kind. */
function serviceShape(kind: ServiceKind) {
  const d = SIM_DEFAULTS.kinds[kind]
  const common = {
    name: str({ pattern: /^[a-z][a-z0-9_-]{0,39}$/, fix: 'name it with lowercase letters, digits, - or _ (e.g. llm-primary)' }),
    kind: oneOf(SERVICE_KINDS),
    port: withDefault(int({ min: 0, max: 65535, fix: 'use a free TCP port, or 0 for any' }), 0),
    process: withDefault(oneOf(['inline', 'separate'] as const), 'inline'),
    workers: withDefault(int({ min: 1, max: 1_000_000 }), d.workers),
    queue: withDefault(int({ min: 0, max: 10_000_000 }), d.queue),
    reject_status: withDefault(oneOfLoose(['429', '503'] as const), String(kind === 'backend' ? 503 : SIM_DEFAULTS.reject_status) as '429' | '503'),
    max_connections: withDefault(int({ min: 0, max: 1_000_000, fix: 'use a whole number of connections, or 0 for no cap' }), 0),
    errors: obj({ rate: withDefault(fraction, 0), kind: withDefault(oneOfLoose(FAULT_KINDS), '500') }),
    leak: obj({
      bytes_per_request: withDefault(int({ min: 0, max: 1024 * 1024 * 1024 }), 0),
      limit_bytes: withDefault(int({ min: 0, max: Number.MAX_SAFE_INTEGER }), SIM_DEFAULTS.leak_limit_bytes),
    }),
    slowdown: optional(
      obj({
        after_s: withDefault(num({ min: 0, max: 1e7 }), 0),
        ramp_s: withDefault(num({ min: 0, max: 1e7 }), 0),
        factor: num({ min: 0.01, max: 1000, fix: 'set factor: service times are multiplied by it, e.g. 3' }),
        for_s: withDefault(num({ min: 0, max: 1e7 }), 0),
      }),
    ),
    drop_connections: withDefault(fraction, 0),
  }
  const sttDefaults = SIM_DEFAULTS.kinds.stt
  const llmDefaults = SIM_DEFAULTS.kinds.llm
  const ttsDefaults = SIM_DEFAULTS.kinds.tts
  const words = (fallback: { min: number; max: number }) => obj({ min: withDefault(int({ min: 1, max: 4000 }), fallback.min), max: withDefault(int({ min: 1, max: 4000 }), fallback.max) })
  const perKind = {
    stt: {
      latency: spread(sttDefaults.latency),
      wer: obj({ base: withDefault(fraction, sttDefaults.wer.base), growth: withDefault(num({ min: 0, max: 10 }), sttDefaults.wer.growth) }),
      interim_ms: withDefault(int({ min: 20, max: 60_000 }), sttDefaults.interim_ms),
      idle_timeout_ms: withDefault(int({ min: 100, max: 3_600_000 }), sttDefaults.idle_timeout_ms),
    },
    llm: {
      ttft: spread(llmDefaults.ttft),
      tokens_per_s: withDefault(num({ min: 0.1, max: 100_000 }), llmDefaults.tokens_per_s),
      reply_words: words(llmDefaults.reply_words),
    },
    tts: {
      ttfb: spread(ttsDefaults.ttfb),
      realtime_factor: withDefault(num({ min: 0, max: 100 }), ttsDefaults.realtime_factor),
      chars_per_s: withDefault(num({ min: 1, max: 1000 }), ttsDefaults.chars_per_s),
    },
    s2s: {
      ttfb: spread(SIM_DEFAULTS.kinds.s2s.ttfb),
      realtime_factor: withDefault(num({ min: 0, max: 100 }), SIM_DEFAULTS.kinds.s2s.realtime_factor),
      chars_per_s: withDefault(num({ min: 1, max: 1000 }), SIM_DEFAULTS.kinds.s2s.chars_per_s),
      reply_words: words(SIM_DEFAULTS.kinds.s2s.reply_words),
    },
    backend: { latency: spread(SIM_DEFAULTS.kinds.backend.latency) },
    router: {
      latency: spread(SIM_DEFAULTS.kinds.router.latency),
      routes: list(
        obj({
          name: optional(str({ pattern: /^[a-z][a-z0-9_-]{0,39}$/, fix: 'name the route with lowercase letters, digits, - or _' })),
          service: optional(str({ nonEmpty: true, fix: 'the name of an llm service in this config' })),
          url: optional(str({ pattern: /^https?:\/\//, fix: 'an OpenAI-compatible base URL such as http://127.0.0.1:9000/v1' })),
          model: optional(str({ nonEmpty: true, fix: 'a model name callers ask for' })),
          weight: withDefault(num({ min: 0, max: 1_000_000 }), 1),
        }),
        { min: 1, fix: 'list the routes as - { service: llm-a, weight: 3 }' },
      ),
    },
  }
  return { ...common, ...perKind[kind] }
}

/** Fills what a kind does not use, so every service has one shape. */
const NEUTRAL = {
  latency: { median_ms: 0, p95_ms: 0 },
  ttft: { median_ms: 0, p95_ms: 0 },
  tokens_per_s: 1,
  reply_words: { min: 1, max: 1 },
  ttfb: { median_ms: 0, p95_ms: 0 },
  realtime_factor: 0,
  chars_per_s: 15,
  wer: { base: 0, growth: 0 },
  interim_ms: 1000,
  idle_timeout_ms: 10_000,
  routes: [],
}

function service(): Validator<ServiceConfig> {
  return (value, path, ctx) => {
    const rawKind = value !== null && typeof value === 'object' ? (value as Record<string, unknown>).kind : undefined
    const kind = oneOf(SERVICE_KINDS)(rawKind, `${path}.kind`, ctx)
    // the kind was checked above; the shape's own check would report it twice
    const shape = { ...serviceShape(kind), kind: () => kind }
    const parsed = obj(shape)(value, path, ctx)
    const s = { ...NEUTRAL, ...parsed, reject_status: Number(parsed.reject_status) as 429 | 503 } as ServiceConfig
    s.routes = s.routes.map((r, i) => {
      if ((r.service === undefined) === (r.url === undefined)) ctx.problems.push({ path: `${path}.routes[${i}]`, value: r, message: 'needs exactly one of service or url', fix: 'give the name of an llm service of this config, or a base URL' })
      return { ...r, name: r.name ?? r.service ?? `route-${i + 1}` }
    })
    if (s.reply_words.max < s.reply_words.min) ctx.problems.push({ path: `${path}.reply_words.max`, value: s.reply_words.max, message: `must not be below min (${s.reply_words.min})`, fix: 'set max at or above min' })
    return s
  }
}

const simSchema = obj({
  seed: withDefault(int({ min: 0, max: 2 ** 31 - 1 }), SIM_DEFAULTS.seed),
  host: withDefault(str({ nonEmpty: true, fix: 'use an address to listen on, e.g. 127.0.0.1' }), SIM_DEFAULTS.host),
  services: list(service(), { min: 1, fix: 'list the services to simulate, e.g. - { name: llm, kind: llm }' }),
})

/** Validates a parsed simulator config; every problem is reported at once. */
export function validateSimConfig(raw: unknown, source: string): SimConfig {
  const ctx: Context = { problems: [] }
  const config = simSchema(raw ?? {}, '', ctx)
  const names = new Set<string>()
  const ports = new Set<number>()
  config.services.forEach((s, i) => {
    if (names.has(s.name)) ctx.problems.push({ path: `services[${i}].name`, value: s.name, message: 'is used by another service', fix: 'give each service its own name' })
    names.add(s.name)
    if (s.port !== 0 && ports.has(s.port)) ctx.problems.push({ path: `services[${i}].port`, value: s.port, message: 'is used by another service', fix: 'give each service its own port, or 0 for any' })
    ports.add(s.port)
  })
  config.services.forEach((s, i) =>
    s.routes.forEach((r, j) => {
      const target = config.services.find((x) => x.name === r.service)
      if (r.service !== undefined && target?.kind !== 'llm') ctx.problems.push({ path: `services[${i}].routes[${j}].service`, value: r.service, message: 'is not an llm service of this config', fix: `use one of ${config.services.filter((x) => x.kind === 'llm').map((x) => x.name).join(', ') || '(none: add an llm service)'}` })
    }),
  )
  if (ctx.problems.length > 0) throw new ConfigError('HW_CONFIG_INVALID', formatProblems(source, ctx.problems), ctx.problems)
  return config
}

export async function loadSimConfigFile(path: string): Promise<SimConfig> {
  const text = await readConfigText(path)
  return validateSimConfig(parseYaml(text, path), path)
}
