import type { StepSamples } from '../../src/analyze/degradation.js'
import { Rng } from '../../src/sim/random.js'

/** Standard normal by Box–Muller. */
function gaussian(rng: Rng): number {
  const u = 1 - rng.next()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next())
}

export interface SyntheticSeries {
  /** the median latency (ms) per step, before any planted change */
  medianMs: number
  /** log-normal spread: p95 / median of one sample */
  p95OverMedian: number
  steps: number
  /** samples per step */
  perStep: number
  /** turns per conversation (a conversation is a cluster) */
  turnsPerConversation: number
  /** AR(1) coefficient of the noise over a step's samples in time order (a queue's state carries over) */
  rho: number
  /** share of the log-variance that is the conversation's own (its caller, its path) */
  conversationShare: number
  /** multiply every sample from this step on by `factor` (a planted change), or none */
  change?: { fromStep: number; factor: number }
}

/**
 * Latencies as a loaded system gives them, with a known truth: log-normal, correlated within a conversation (a shared
 * effect) and over time (AR(1) noise, ρ, over the step's samples in the order they happened), conversations
 * interleaved in time. Each step's samples carry their conversation as the cluster key.
 */
export function syntheticSteps(rng: Rng, s: SyntheticSeries): StepSamples[] {
  const sigma = Math.log(s.p95OverMedian) / 1.6448536
  const out: StepSamples[] = []
  for (let step = 0; step < s.steps; step++) {
    const conversations = Math.ceil(s.perStep / s.turnsPerConversation)
    const effect = Array.from({ length: conversations }, () => gaussian(rng) * Math.sqrt(s.conversationShare))
    // conversations interleave: each sample belongs to a random conversation that still has turns left
    const left = new Array<number>(conversations).fill(s.turnsPerConversation)
    const samples: number[] = []
    const clusters: number[] = []
    let ar = gaussian(rng)
    const factor = s.change !== undefined && step >= s.change.fromStep ? s.change.factor : 1
    for (let i = 0; i < s.perStep; i++) {
      let c = Math.floor(rng.next() * conversations)
      while ((left[c] as number) === 0) c = (c + 1) % conversations
      left[c] = (left[c] as number) - 1
      ar = s.rho * ar + Math.sqrt(1 - s.rho * s.rho) * gaussian(rng)
      const z = (effect[c] as number) + ar * Math.sqrt(1 - s.conversationShare)
      samples.push(s.medianMs * factor * Math.exp(sigma * z))
      clusters.push(c)
    }
    out.push({ step, load: 10 + 5 * step, samples, clusters })
  }
  return out
}
