import { DEGRADATION_DEFAULTS, type Analysis } from '../analyze/index.js'
import { sloNames, sloObjective } from './junit.js'

/** One SLO at one step: held, broken (a breach the analysis found) or not judged (no evidence, or too few samples). */
export interface SloCell {
  step: number
  load: number
  state: 'held' | 'broken' | 'not_judged'
  /** the step's value of the objective's measure (ms, or a share for success); null when it has none */
  value: number | null
}

export interface SloRow {
  name: string
  /** "response p95 ≤ 1500 ms", "success ≥ 95 %" */
  objective: string
  cells: SloCell[]
}

/** Every SLO at every step, from the analysis: ✗ exactly where it found a breach, ✓ where the SLO was judged and held. */
export function sloGrid(a: Analysis, minSamples: number = DEGRADATION_DEFAULTS.minSamples): SloRow[] {
  return sloNames(a.slos).map((name) => {
    const component = name.replace(/ p95$/, '')
    const objective = sloObjective(name, a.slos)
    const cells = a.steps.map((s): SloCell => {
      const turns = s.turns?.turns ?? 0
      const measured =
        name === 'response p95' ? { value: s.turns?.p95_ms ?? null, n: turns }
        : name === 'success' ? { value: turns > 0 ? (s.turns?.success ?? 0) / turns : null, n: turns }
        // the network p95 is judged on the traced answered turns (a sample of them): at most the answered turns
        : name === 'network p95' ? { value: s.network_p95_ms, n: s.network_p95_ms === null ? 0 : s.turns?.answered ?? 0 }
        : { value: s.components[component]?.p95_ms ?? null, n: s.components[component]?.n ?? 0 }
      const broken = a.breaches.some((b) => b.step === s.step && b.slo === name)
      const judged = s.invalid === undefined && measured.value !== null && measured.n >= minSamples
      return { step: s.step, load: s.load, state: broken ? 'broken' : judged ? 'held' : 'not_judged', value: measured.value }
    })
    return { name, objective, cells }
  })
}
