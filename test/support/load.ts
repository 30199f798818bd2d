import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { analyzeStoredRun, type Analysis } from '../../src/analyze/index.js'
import { validateConfig } from '../../src/config/index.js'
import { BatchWriter, ClickHouseSink, queryJsonLines, recordHops, recordLoad, runRow, Spill, type Store } from '../../src/store/index.js'
import { nowUs } from '../../src/clock.js'
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
  const runId = plan.runId ?? `test-${Math.random().toString(36).slice(2, 10)}`
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

/**
 * Like runAgainstSim, but recorded into a real store (as `hopwatch run` records) and then analysed from it, as
 * `hopwatch analyze` would: the planted-fault tests judge the analyzer on what the whole product produces.
 */
export async function runAndAnalyse(store: Store, sim: Record<string, unknown>, plan: { steps: ProfileStep[]; scenarios: Scenario[] } & Partial<LoadPlan>): Promise<{ analysis: Analysis; result: LoadResult }> {
  const spillDir = await mkdtemp(join(tmpdir(), 'hopwatch-spill-'))
  const spill = new Spill(spillDir, 1 << 30)
  await spill.init()
  const writer = new BatchWriter(new ClickHouseSink(store), spill, { queueRows: 1_000_000, batchRows: 5000, flushMs: 500, retryMs: 1000 })
  writer.start()
  const stopHops = recordHops(writer)
  const stopLoad = recordLoad(writer)
  const runId = plan.runId ?? `planted-${Math.random().toString(36).slice(2, 10)}`
  writer.push('runs', runRow({ run_id: runId, name: 'test', started_us: nowUs(), source: 'test', hopwatch_version: 'test', config_json: '{}' }))
  let result: LoadResult
  try {
    result = await runAgainstSim(sim, { ...plan, runId })
  } finally {
    stopHops()
    stopLoad()
    await writer.close()
  }
  const analysis = await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', runId)
  if (analysis === undefined) throw new Error(`run ${runId} is not in the store`)
  return { analysis, result }
}
