import { readFileSync } from 'node:fs'

/**
 * Whether a step's measurement can be trusted, from what the generator itself sees: its event loop's lag (which
 * also delays every timestamp the proxy takes when it shares the process), how late its starts were, the load it
 * achieved against the target, and the whole host's CPU (every process: the simulator, the proxy, a neighbour).
 * The generator's own CPU share says nothing here: in `run` and `demo` it counts the proxy and the store too.
 */
export const VALIDITY_LIMITS = {
  /** the event loop's lag p99: past this, moments are stamped late by as much as the effects judged (50 ms) */
  lagP99Ms: 50,
  /** open model: starts this late at p99 mean the schedule was not kept */
  latenessP99Ms: 100,
  /** closed model: the share of the target kept going over the step */
  achievedShare: 0.9,
  /** the host's busy CPU share over the step: a saturated host queues everything, the system under test included */
  hostCpu: 0.95,
} as const

export interface StepHealth {
  model: 'closed' | 'open'
  target: number
  achieved: number
  lagP99Ms: number
  latenessP99Ms: number
  droppedStarts: number
  /** the host's busy share, or undefined where /proc/stat cannot be read */
  hostCpu: number | undefined
}

/** Why a step is no evidence, in words a user can act on; '' when it is valid. */
export function invalidReason(h: StepHealth): string {
  const reasons: string[] = []
  if (h.hostCpu !== undefined && h.hostCpu >= VALIDITY_LIMITS.hostCpu) reasons.push(`the host's CPU was saturated (${Math.round(h.hostCpu * 100)} %)`)
  if (h.lagP99Ms > VALIDITY_LIMITS.lagP99Ms) reasons.push(`the generator's event loop lagged (p99 ${Math.round(h.lagP99Ms)} ms)`)
  if (h.model === 'closed' && h.target > 0 && h.achieved < h.target * VALIDITY_LIMITS.achievedShare) reasons.push(`only ${h.achieved.toFixed(1)} of ${h.target} conversations were kept going`)
  if (h.model === 'open' && h.latenessP99Ms > VALIDITY_LIMITS.latenessP99Ms) reasons.push(`conversations started late (p99 ${Math.round(h.latenessP99Ms)} ms)`)
  if (h.model === 'open' && h.droppedStarts > 0) reasons.push(`${h.droppedStarts} conversation starts were dropped at the concurrency cap`)
  return reasons.join(', ')
}

/** The host's CPU time so far, from /proc/stat's first line: busy and total jiffies over every core. */
export interface CpuTimes {
  busy: number
  total: number
}

export function hostCpuTimes(path = '/proc/stat'): CpuTimes | undefined {
  try {
    const line = readFileSync(path, 'utf8').split('\n', 1)[0] ?? ''
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user
    const fields = line.trim().split(/\s+/).slice(1, 9).map(Number)
    if (!line.startsWith('cpu ') || fields.length < 4 || fields.some((x) => !Number.isFinite(x))) return undefined
    const total = fields.reduce((a, b) => a + b, 0)
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
    return { busy: total - idle, total }
  } catch {
    return undefined
  }
}

/** The busy share of the host's CPU between two readings (0–1). */
export function busyShare(from: CpuTimes | undefined, to: CpuTimes | undefined): number | undefined {
  if (from === undefined || to === undefined || to.total <= from.total) return undefined
  return (to.busy - from.busy) / (to.total - from.total)
}
