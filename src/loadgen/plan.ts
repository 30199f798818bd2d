import type { LoadConfig } from '../config/index.js'
import type { LoadPlan } from './executor.js'
import { PROFILES, shardSteps, type ProfileStep } from './profiles.js'
import { loadScenarios } from './scenario.js'
import { credentialsFromEnv, type Targets } from './targets.js'

/** The steps a load config describes, for shard `index` of `count`. */
export function stepsFromConfig(load: LoadConfig, shard: { index: number; count: number } = { index: 0, count: 1 }): ProfileStep[] {
  let steps: ProfileStep[]
  switch (load.profile) {
    case 'ramp':
    case 'stress':
      steps = PROFILES[load.profile]({ start: load.start, factor: load.factor, step_s: load.step_s, max: load.max })
      break
    case 'spike':
      steps = PROFILES.spike({ peak: load.peak, baseline_fraction: 0.3, spike_factor: 2.5, baseline_s: load.step_s, spike_s: load.step_s * 2.4, recovery_s: load.step_s * 2 })
      break
    case 'soak':
      steps = PROFILES.soak({ level: load.level, duration_s: load.duration_s })
      break
    case 'stages':
      steps = PROFILES.stages({ stages: load.stages })
      break
  }
  return shard.count > 1 ? shardSteps(steps, shard.index, shard.count) : steps
}

/** Parses `--shard i/N` (1-based i), or undefined when it is not of that form. */
export function parseShard(text: string): { index: number; count: number } | undefined {
  const match = /^(\d+)\/(\d+)$/.exec(text)
  if (match === null) return undefined
  const i = Number(match[1])
  const n = Number(match[2])
  return i >= 1 && i <= n ? { index: i - 1, count: n } : undefined
}

/** The load plan a config describes, for these targets and this shard. */
export async function planFromConfig(load: LoadConfig, run: { runId: string; targets: Targets; shard: { index: number; count: number } }): Promise<LoadPlan> {
  return {
    runId: run.runId,
    steps: stepsFromConfig(load, run.shard),
    model: load.model,
    architecture: load.architecture,
    scenarios: await loadScenarios(load.scenarios),
    targets: run.targets,
    credentials: credentialsFromEnv(),
    timeScale: load.time_scale,
    seed: load.seed,
    shard: run.shard,
    stopOnBreach: load.stop_on_breach ? load.slo : undefined,
    maxConcurrency: load.max_concurrency,
    models: load.models,
    connectionsPerOrigin: load.connections_per_upstream,
    minTurnsPerStep: load.min_turns_per_step,
  }
}
