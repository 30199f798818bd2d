/**
 * Load profiles: how the target load changes over a run, as a list of steps. Each profile is a pure function of its
 * options, registered by name; the executor only walks the steps it returns (k6's executors, without the switch).
 * Durations are in seconds of the real profile; `--time-scale` divides them when the steps are run.
 */

export type Phase = 'ramp' | 'baseline' | 'spike' | 'recovery' | 'soak' | 'stress' | 'stage'

export interface ProfileStep {
  /** 0-based position in the run */
  index: number
  phase: Phase
  /** concurrent conversations (closed model) or conversation arrivals per second (open model) */
  target: number
  duration_s: number
}

export interface RampOptions {
  start: number
  /** each step's target is the previous one's × this, rounded, and at least one more */
  factor: number
  step_s: number
  max: number
}

export interface SpikeOptions {
  peak: number
  /** the baseline before and after, as a fraction of the peak */
  baseline_fraction: number
  /** the spike, as a multiple of the peak */
  spike_factor: number
  baseline_s: number
  spike_s: number
  recovery_s: number
}

export interface SoakOptions {
  level: number
  duration_s: number
}

export interface StageOptions {
  stages: ReadonlyArray<{ target: number; duration_s: number }>
}

/** Ramp defaults from the way SREs step load: start at 10, ×1.25 every 5 minutes. */
export const RAMP_DEFAULTS: RampOptions = { start: 10, factor: 1.25, step_s: 300, max: 1000 }
export const SPIKE_DEFAULTS: Omit<SpikeOptions, 'peak'> = { baseline_fraction: 0.3, spike_factor: 2.5, baseline_s: 300, spike_s: 720, recovery_s: 600 }

/** Geometric steps from `start`, each the previous rounded × factor (10, 13, 16, 20, 25, …), up to `max`. */
function geometric(options: RampOptions, phase: Phase): ProfileStep[] {
  const steps: ProfileStep[] = []
  let target = options.start
  while (target <= options.max) {
    steps.push({ index: steps.length, phase, target, duration_s: options.step_s })
    target = Math.max(target + 1, Math.round(target * options.factor))
  }
  return steps
}

export function ramp(options: RampOptions): ProfileStep[] {
  return geometric(options, 'ramp')
}

/** Like a ramp, but meant to go on past the expected peak until the system fails (the run stops on breach). */
export function stress(options: RampOptions): ProfileStep[] {
  return geometric(options, 'stress')
}

/** Baseline, a jump to `spike_factor` × peak, and back to baseline; recovery is measured in the last phase. */
export function spike(options: SpikeOptions): ProfileStep[] {
  const baseline = Math.max(1, Math.round(options.peak * options.baseline_fraction))
  const top = Math.max(1, Math.round(options.peak * options.spike_factor))
  return [
    { index: 0, phase: 'baseline', target: baseline, duration_s: options.baseline_s },
    { index: 1, phase: 'spike', target: top, duration_s: options.spike_s },
    { index: 2, phase: 'recovery', target: baseline, duration_s: options.recovery_s },
  ]
}

export function soak(options: SoakOptions): ProfileStep[] {
  return [{ index: 0, phase: 'soak', target: options.level, duration_s: options.duration_s }]
}

export function stages(options: StageOptions): ProfileStep[] {
  return options.stages.map((s, index) => ({ index, phase: 'stage', target: s.target, duration_s: s.duration_s }))
}

/** Total length of a profile in seconds, before time-scaling. */
export function profileSeconds(steps: readonly ProfileStep[]): number {
  return steps.reduce((sum, s) => sum + s.duration_s, 0)
}

/**
 * The steps of shard `index` of `count`: every step's target split so the shards add up to it exactly (the first
 * `target mod count` shards take one more), so N generators together make the whole profile.
 */
export function shardSteps(steps: readonly ProfileStep[], index: number, count: number): ProfileStep[] {
  return steps.map((s) => {
    const whole = Math.floor(s.target / count)
    const extra = Number.isInteger(s.target) ? (index < s.target % count ? 1 : 0) : (s.target - whole * count) / count
    return { ...s, target: whole + extra }
  })
}

/** Every profile by name (`profile.kind` in a load config); adding one is a function and a line here. */
export const PROFILES = {
  ramp: (o: RampOptions) => ramp(o),
  stress: (o: RampOptions) => stress(o),
  spike: (o: SpikeOptions) => spike(o),
  soak: (o: SoakOptions) => soak(o),
  stages: (o: StageOptions) => stages(o),
} as const

export type ProfileName = keyof typeof PROFILES
