import { ConfigError, formatProblems, parseYaml, readConfigText } from '../config/index.js'
import { int, list, obj, oneOf, optional, str, withDefault, type Context, type Validator } from '../config/validate.js'
import { BUILTIN_SCENARIOS } from './builtin-scenarios.js'
import { PERSONAS } from './persona.js'

/** A tool the agent may call, and where the backend serves it. */
export interface ScenarioTool {
  name: string
  description: string
  /** JSON schema of the arguments, offered to the LLM as is */
  parameters: Record<string, unknown>
  /** the backend request the tool makes: `{name}` placeholders in the path take the call's arguments */
  endpoint: { method: 'GET' | 'POST'; path: string }
}

export interface ScenarioTurn {
  /** what the caller says */
  say: string
  /** a WAV file (16-bit PCM) to send instead of synthesized speech */
  audio: string | undefined
  /** what a good answer does: calls the intent's tool, and contains every keyword */
  expect: { intent: string | undefined; keywords: string[] }
  /** the tool call this turn needs, with its arguments */
  tool: { name: string; args: Record<string, unknown> } | undefined
  /** what a good agent answers (the simulator is asked to say it; a real agent ignores the request) */
  reply: string
}

export interface Scenario {
  name: string
  /** relative share of conversations */
  weight: number
  persona: string
  /** conversations run from min_turns to all turns, so lengths vary as in production */
  min_turns: number
  tools: ScenarioTool[]
  turns: ScenarioTurn[]
}

function anyObject(fix: string): Validator<Record<string, unknown>> {
  return (value, path, ctx) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      ctx.problems.push({ path, value, message: 'must be a mapping', fix })
      return {}
    }
    return value as Record<string, unknown>
  }
}

const words = str({ nonEmpty: true, fix: 'write what is said, as plain text' })

const scenarioSchema = obj({
  name: str({ pattern: /^[a-z][a-z0-9_-]{0,39}$/, fix: 'name it with lowercase letters, digits, - or _' }),
  weight: withDefault(int({ min: 0, max: 1_000_000 }), 1),
  persona: withDefault(oneOf(Object.keys(PERSONAS) as [string, ...string[]]), 'typical'),
  min_turns: optional(int({ min: 1, max: 1000 })),
  tools: list(
    obj({
      name: str({ pattern: /^[a-zA-Z0-9_-]{1,64}$/, fix: 'a function name: letters, digits, _ or -' }),
      description: withDefault(str({ fix: 'describe what the tool does' }), ''),
      parameters: withDefault(anyObject('a JSON schema, e.g. { type: object, properties: { date: { type: string } } }'), { type: 'object', properties: {} }),
      endpoint: optional(obj({ method: withDefault(oneOf(['GET', 'POST'] as const), 'POST'), path: str({ pattern: /^\//, fix: 'a path on the backend, starting with /' }) })),
    }),
    { min: 0, fix: 'list the tools as - { name, description, parameters }' },
  ),
  turns: list(
    obj({
      say: words,
      audio: optional(str({ nonEmpty: true, fix: 'a path to a 16-bit PCM WAV file' })),
      expect: obj({ intent: optional(str({ nonEmpty: true, fix: 'the tool the answer should call' })), keywords: list(words, { min: 0, fix: 'list words the answer must contain' }) }),
      tool: optional(obj({ name: str({ nonEmpty: true, fix: 'the name of one of the scenario\'s tools' }), args: withDefault(anyObject('the call\'s arguments as a mapping'), {}) })),
      reply: words,
    }),
    { min: 1, fix: 'list the turns as - { say, expect, reply }' },
  ),
})

function validate(raw: unknown, path: string, ctx: Context): Scenario {
  const s = scenarioSchema(raw, path, ctx)
  const at = (key: string) => (path === '' ? key : `${path}.${key}`)
  const toolNames = new Set(s.tools.map((t) => t.name))
  s.turns.forEach((turn, i) => {
    if (turn.tool !== undefined && !toolNames.has(turn.tool.name)) ctx.problems.push({ path: at(`turns[${i}].tool.name`), value: turn.tool.name, message: 'is not one of the scenario\'s tools', fix: `add it under tools, or use one of ${[...toolNames].join(', ') || '(none defined)'}` })
  })
  if (s.min_turns !== undefined && s.min_turns > s.turns.length) ctx.problems.push({ path: at('min_turns'), value: s.min_turns, message: `is more than the ${s.turns.length} turns`, fix: 'lower it, or add turns' })
  return {
    ...s,
    min_turns: s.min_turns ?? s.turns.length,
    tools: s.tools.map((t) => ({ ...t, endpoint: t.endpoint ?? { method: 'POST', path: `/v1/tools/${t.name}` } })),
    turns: s.turns.map((t) => ({ ...t, expect: { intent: t.expect.intent, keywords: t.expect.keywords } })),
  }
}

/** Validates scenarios (a list, or one), reporting every problem at once. */
export function validateScenarios(raw: unknown, source: string): Scenario[] {
  const ctx: Context = { problems: [] }
  const items = Array.isArray(raw) ? raw : [raw]
  const scenarios = items.map((item, i) => validate(item, Array.isArray(raw) ? `[${i}]` : '', ctx))
  if (ctx.problems.length > 0) throw new ConfigError('HW_CONFIG_INVALID', formatProblems(source, ctx.problems), ctx.problems)
  return scenarios
}

/** A built-in scenario's name, or a YAML file of one or more scenarios. */
export async function loadScenarios(refs: readonly string[]): Promise<Scenario[]> {
  const out: Scenario[] = []
  for (const ref of refs) {
    const builtin = BUILTIN_SCENARIOS[ref]
    if (builtin !== undefined) out.push(...validateScenarios(builtin, `built-in scenario ${ref}`))
    else out.push(...validateScenarios(parseYaml(await readConfigText(ref), ref), ref))
  }
  return out
}

export const BUILTIN_SCENARIO_NAMES = Object.keys(BUILTIN_SCENARIOS)
