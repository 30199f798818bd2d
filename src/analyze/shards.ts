/**
 * Several generators make one run (`--shard i/N`, one run id, one start instant): a step is evidence only when every
 * shard drove its share of it, together. A shard with no record of a step (it never started, or died) or one that
 * began the step late (its clock, or it was started after the common instant) is named, and the step is invalid.
 */

/** How late a shard may begin a step against the first shard: 5 % of the step, and at least a quarter second. */
export const SHARD_START_TOLERANCE = { share: 0.05, minUs: 250_000 } as const

export interface ShardedStep {
  /** each shard's label ('i/N') and when it began the step, µs */
  shards: ReadonlyArray<{ shard: string; start_us: number }>
  start_us: number
  end_us: number
}

/** Why the shards make the step no evidence, or undefined when every shard was there on time (or there is one). */
export function shardProblem(step: ShardedStep): string | undefined {
  const parsed = step.shards.map((s) => ({ ...s, m: /^(\d+)\/(\d+)$/.exec(s.shard) })).filter((s) => s.m !== null)
  const count = Math.max(0, ...parsed.map((s) => Number(s.m?.[2])))
  if (count <= 1) return undefined
  const problems: string[] = []
  const present = new Set(parsed.map((s) => Number(s.m?.[1])))
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !present.has(i))
  if (missing.length > 0) problems.push(`shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} recorded nothing in it`)
  const first = parsed.reduce((a, b) => (b.start_us < a.start_us ? b : a), parsed[0] as (typeof parsed)[number])
  const tolerance = Math.max(SHARD_START_TOLERANCE.minUs, SHARD_START_TOLERANCE.share * Math.max(0, step.end_us - step.start_us))
  for (const s of parsed) {
    const late = s.start_us - first.start_us
    if (late > tolerance) problems.push(`shard ${s.shard} began it ${(late / 1e6).toFixed(1)} s after shard ${first.shard}`)
  }
  return problems.length > 0 ? problems.join('; ') : undefined
}
