import { ConfigError, formatProblems, parseYaml, readConfigText } from '../config/index.js'
import { num, obj, withDefault, type Context } from '../config/validate.js'
import { DEFAULT_SLOS, type Slos } from './run-analysis.js'

const ms = (fallback: number | undefined) => withDefault(num({ min: 1, max: 3_600_000, fix: 'a latency in ms' }), fallback as number)

const schema = obj({
  response_p95_ms: ms(DEFAULT_SLOS.response_p95_ms),
  success_min: withDefault(num({ min: 0, max: 1, fix: 'a fraction, e.g. 0.95' }), DEFAULT_SLOS.success_min),
  components_p95_ms: obj({
    stt: ms(DEFAULT_SLOS.components_p95_ms.stt),
    llm: ms(DEFAULT_SLOS.components_p95_ms.llm),
    tts: ms(DEFAULT_SLOS.components_p95_ms.tts),
    network: ms(DEFAULT_SLOS.components_p95_ms.network),
    s2s: ms(undefined),
    backend: ms(undefined),
    router: ms(undefined),
  }),
})

/** SLOs from a YAML file; what it leaves out keeps the default (docs/architecture.md). */
export async function loadSlos(path: string): Promise<Slos> {
  const ctx: Context = { problems: [] }
  const parsed = schema(parseYaml(await readConfigText(path), path), '', ctx)
  if (ctx.problems.length > 0) throw new ConfigError('HW_CONFIG_INVALID', formatProblems(path, ctx.problems), ctx.problems)
  const components = Object.fromEntries(Object.entries(parsed.components_p95_ms).filter(([, v]) => v !== undefined)) as Record<string, number>
  return { response_p95_ms: parsed.response_p95_ms, success_min: parsed.success_min, components_p95_ms: components }
}
