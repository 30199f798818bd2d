/**
 * npm run bench (third part): how many concurrent cascaded conversations one generator process drives with
 * real-time audio pacing (time scale 1: 20 ms frames every 20 ms) before its own event-loop delay distorts what it
 * measures. The simulator serves from processes of its own, with capacity to spare, and the generator talks to it
 * directly (the proxy has its own benchmark). Per level: the generator's event-loop lag p99 and CPU share, start
 * lateness, and the response-latency p95 as a ratio to the lowest level's, measured in the same run: on an idle
 * system that ratio stays near 1 until the generator (or the shared cores) become the limit.
 */
import { table } from '../../src/cli/output.js'
import { stepEnded, turnEnded } from '../../src/events.js'
import { experiencedLatencyMs, LoadRun, loadScenarios, percentile, stages, targetsFromUpstreams } from '../../src/loadgen/index.js'
import { startSim, validateSimConfig } from '../../src/sim/index.js'
import type { StepRecord, TurnRecord } from '../../src/types.js'
import { simUpstreams } from '../../src/cli/commands/run.js'

const LEVELS = (process.env.BENCH_CONVERSATIONS ?? '250,500,1000').split(',').map(Number)
const STEP_S = Number(process.env.BENCH_STEP_S ?? 20)

async function main(): Promise<void> {
  const roomy = { workers: 100_000, queue: 100_000, process: 'separate' }
  const sim = await startSim(
    validateSimConfig(
      {
        services: [
          { name: 'stt', kind: 'stt', ...roomy, latency: { median_ms: 100, p95_ms: 150 }, wer: { base: 0, growth: 0 } },
          { name: 'llm', kind: 'llm', ...roomy, ttft: { median_ms: 200, p95_ms: 300 }, tokens_per_s: 100 },
          { name: 'tts', kind: 'tts', ...roomy, ttfb: { median_ms: 100, p95_ms: 150 }, realtime_factor: 0.1 },
          { name: 'backend', kind: 'backend', ...roomy, latency: { median_ms: 30, p95_ms: 50 } },
        ],
      },
      'bench',
    ),
  )
  const urls = new Map(simUpstreams(sim.services).map((u) => [u.name as string, (u.target as string).replace(/^ws/, 'http')]))
  const { targets } = targetsFromUpstreams(
    simUpstreams(sim.services).map((u) => ({ name: u.name as string, component: u.component as string, adapter: u.adapter as string })),
    (name) => urls.get(name) ?? '',
  )
  const turns: TurnRecord[] = []
  const steps: StepRecord[] = []
  const onTurn = (m: unknown) => turns.push(m as TurnRecord)
  const onStep = (m: unknown) => steps.push(m as StepRecord)
  turnEnded.subscribe(onTurn)
  stepEnded.subscribe(onStep)
  try {
    const run = new LoadRun({
      runId: 'bench',
      steps: stages({ stages: LEVELS.map((target) => ({ target, duration_s: STEP_S })) }),
      model: 'closed',
      architecture: 'cascaded',
      scenarios: await loadScenarios(['booking', 'support', 'faq']),
      targets,
      credentials: { openai: undefined, deepgram: undefined, elevenlabs: undefined },
      timeScale: 1,
      seed: 1,
      shard: { index: 0, count: 1 },
      stopOnBreach: undefined,
      maxConcurrency: 100_000,
      models: { llm: 'bench', tts: 'tts-1', voice: 'alloy', stt: 'nova-3', s2s: 'gpt-realtime' },
      connectionsPerOrigin: 4096,
    })
    const ticker = setInterval(() => {
      const s = run.snapshot()
      process.stderr.write(`  ${s.elapsedS.toFixed(0)} s: step ${s.step} target ${s.target}, active ${s.active}, turns ${s.turns}\n`)
    }, 10_000)
    const result = await run.run()
    clearInterval(ticker)
    const p95Of = (step: number) => percentile(turns.filter((t) => t.step === step).map(experiencedLatencyMs).filter((x): x is number => x !== undefined), 95)
    const baseline = p95Of(0)
    const rows = result.steps.map((o) => [
      String(o.record.target_load),
      o.record.achieved_load.toFixed(0),
      String(o.turns),
      `${o.record.generator_lag_p99_ms.toFixed(1)} ms`,
      `${(o.record.generator_cpu * 100).toFixed(0)} %`,
      `${o.record.lateness_p99_ms.toFixed(1)} ms`,
      `${p95Of(o.record.step).toFixed(0)} ms`,
      (p95Of(o.record.step) / baseline).toFixed(2),
      `${((o.successRate || 0) * 100).toFixed(1)} %`,
      o.record.generator_limited === 1 ? 'LIMITED' : 'ok',
    ])
    process.stdout.write(`\nGenerator capacity: closed model, real-time audio (time scale 1), ${STEP_S} s per level, simulator in separate processes on the same cores:\n`)
    process.stdout.write(table(['conversations', 'achieved', 'turns', 'loop lag p99', 'generator CPU', 'start lateness p99', 'response p95', '÷ lowest level', 'success', 'generator'], rows))
  } finally {
    turnEnded.unsubscribe(onTurn)
    stepEnded.unsubscribe(onStep)
    await sim.close()
  }
}

await main()
