/**
 * The commands hopwatch's processes run in a scaled-out deployment, in one place: the multi-process test
 * (test/cli/scale-out.test.ts) runs exactly these, and the Helm chart's test checks that the sidecar and the load
 * Job's pods run exactly these too.
 */

/**
 * The profile each load shard runs its share of in the scale-out test: four steps of 10, 13, 17 and 22 conversations
 * in all, 200 s each compressed 12× (about 100 turns a step, what a p95 needs; at 16× the same steps held fewer turns,
 * as the system's own latencies are not compressed, and the verdict was weaker).
 */
export const SCALE_OUT_PROFILE = ['--start', '10', '--factor', '1.3', '--max', '22', '--step-s', '200', '--time-scale', '12'] as const

/** A proxy, from its config file. */
export function proxyCommand(config: string, workers = 0): string[] {
  return ['proxy', '--config', config, ...(workers > 0 ? ['--workers', String(workers)] : [])]
}

/** One load shard: its config, the proxy it drives, the run, the common start, the profile, and its shard `i/N`. */
export function loadCommand(o: { config: string; proxyUrl: string; runId: string; startAt: string; profile: readonly string[]; shard: string }): string[] {
  return ['load', '--config', o.config, '--proxy-url', o.proxyUrl, '--run-id', o.runId, '--start-at', o.startAt, ...o.profile, '--shard', o.shard]
}
