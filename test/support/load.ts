import { validateConfig } from '../../src/config/index.js'
import { stepEnded, turnEnded, hopEnded } from '../../src/events.js'
import { LoadRun, targetsFromUpstreams, validateScenarios, type LoadPlan, type ProfileStep, type Scenario } from '../../src/loadgen/index.js'
import { ADAPTER_NAMES, startProxy } from '../../src/proxy/index.js'
import { pointRoutersAtProxy, simUpstreams } from '../../src/cli/commands/run.js'
import { validateSimConfig } from '../../src/sim/index.js'
import type { HopRecord, StepRecord, TurnRecord } from '../../src/types.js'
import { simulate } from './sim.js'

export interface LoadResult {
  turns: TurnRecord[]
  steps: StepRecord[]
  hops: HopRecord[]
  outcome: Awaited<ReturnType<LoadRun['run']>>
}

/** A short scenario: one turn with a tool call, or without; its persona sets the patience. */
export function scenario(persona: 'typical' | 'impatient' | 'patient', withTool = false): Scenario[] {
  return validateScenarios(
    {
      name: `short-${persona}`,
      persona,
      tools: withTool ? [{ name: 'lookup_order', parameters: { type: 'object', properties: { order_id: { type: 'string' } } }, endpoint: { method: 'GET', path: '/v1/orders/{order_id}' } }] : [],
      turns: [{ say: 'Where is my order', expect: { keywords: ['order'] }, reply: 'Your order arrives in ten minutes.', ...(withTool ? { tool: { name: 'lookup_order', args: { order_id: '7' } } } : {}) }],
    },
    'test scenario',
  )
}

/**
 * Runs simulated callers through the real proxy in front of a simulator, in this process, and collects every
 * turn, step and hop the run published.
 */
export async function runAgainstSim(sim: Record<string, unknown>, plan: { steps: ProfileStep[]; scenarios: Scenario[] } & Partial<LoadPlan>): Promise<LoadResult> {
  const stack = await simulate(sim)
  const config = validateConfig({ proxy: { port: 0 }, upstreams: simUpstreams(stack.services) }, 'test', { adapters: ADAPTER_NAMES })
  const runId = `test-${Math.random().toString(36).slice(2, 10)}`
  const proxy = await startProxy({ config, runId })
  await pointRoutersAtProxy(validateSimConfig(sim, 'test'), stack, proxy)
  const turns: TurnRecord[] = []
  const steps: StepRecord[] = []
  const hops: HopRecord[] = []
  const onTurn = (m: unknown) => turns.push(m as TurnRecord)
  const onStep = (m: unknown) => steps.push(m as StepRecord)
  const onHop = (m: unknown) => (m as HopRecord).run_id === runId && hops.push({ ...(m as HopRecord) })
  turnEnded.subscribe(onTurn)
  stepEnded.subscribe(onStep)
  hopEnded.subscribe(onHop)
  try {
    const { targets } = targetsFromUpstreams(config.upstreams, (name) => proxy.upstreamUrls.get(name) ?? '')
    const run = new LoadRun({
      runId,
      model: 'closed',
      architecture: 'cascaded',
      targets,
      credentials: { openai: undefined, deepgram: undefined, elevenlabs: undefined },
      timeScale: 20,
      seed: 1,
      shard: { index: 0, count: 1 },
      stopOnBreach: undefined,
      maxConcurrency: 10_000,
      models: { llm: 'sim', tts: 'tts-1', voice: 'alloy', stt: 'nova-3', s2s: 'gpt-realtime' },
      connectionsPerOrigin: 512,
      ...plan,
    })
    const outcome = await run.run()
    return { turns: turns.filter((t) => t.run_id === runId), steps: steps.filter((s) => s.run_id === runId), hops, outcome }
  } finally {
    turnEnded.unsubscribe(onTurn)
    stepEnded.unsubscribe(onStep)
    hopEnded.unsubscribe(onHop)
    await proxy.close()
    await stack.close()
  }
}
