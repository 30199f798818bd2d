/** One slice of the recovery phase. */
export interface TimelineBucket {
  bucket: number
  turns: number
  p95_ms: number
  failed: number
}

export interface SpikeFindings {
  /** seconds (of the profile: the time scale undone) from the end of the spike until latency and failures are back at baseline; null when they never were within the run */
  recovery_s: number | null
  baseline: { p95_ms: number; failure_rate: number }
  /** how the system degraded during the spike: shedding load (rejections) or dropping the calls it had (resets, hang-ups) */
  degraded: 'gracefully' | 'catastrophically' | 'not at all'
  rejections: number
  drops: number
}

/**
 * Errors that are a service saying no, now, so the caller may retry (shedding load): 429 Too Many Requests
 * (`rate_limited`) and 503 Service Unavailable (RFC 9110 §15.6.4, "temporarily overloaded"). A 500, 502 or 504, a
 * reset or a timeout is a call the service took and lost, or failed: not graceful.
 */
const REJECTIONS = /_(rate_limited|upstream_status_503)$/

/**
 * Spike recovery: the recovery phase is cut into slices; it has recovered from the first slice after which every
 * slice's p95 is within 20 % of the baseline phase's and its failure rate within 2 points of it. The spike degraded
 * gracefully when its failures were mostly rejections, catastrophically when they were mostly dropped calls.
 */
export function spikeFindings(input: {
  baseline: { p95_ms: number; turns: number; failed: number }
  spike: { hung_up: number; errors: Record<string, number> }
  recovery: readonly TimelineBucket[]
  bucketS: number
}): SpikeFindings {
  const baselineFailure = input.baseline.turns > 0 ? input.baseline.failed / input.baseline.turns : 0
  const ok = (b: TimelineBucket) => b.turns > 0 && b.p95_ms <= input.baseline.p95_ms * 1.2 && b.failed / b.turns <= baselineFailure + 0.02
  let recoveredFrom: number | undefined
  for (let i = input.recovery.length - 1; i >= 0; i--) {
    const b = input.recovery[i] as TimelineBucket
    if (b.turns === 0) continue
    if (!ok(b)) break
    recoveredFrom = b.bucket
  }
  let rejections = 0
  let drops = input.spike.hung_up
  for (const [kind, n] of Object.entries(input.spike.errors)) {
    if (REJECTIONS.test(kind)) rejections += n
    else drops += n
  }
  return {
    recovery_s: recoveredFrom === undefined ? null : recoveredFrom * input.bucketS,
    baseline: { p95_ms: input.baseline.p95_ms, failure_rate: baselineFailure },
    degraded: rejections + drops === 0 ? 'not at all' : rejections >= drops ? 'gracefully' : 'catastrophically',
    rejections,
    drops,
  }
}
