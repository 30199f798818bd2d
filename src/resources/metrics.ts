/**
 * Which sampled metrics are memory: a process's RSS, a cgroup's usage, a Prometheus endpoint's resident memory, a
 * GPU's memory. Their trend is the one a leak shows in; their `_limit_` counterparts are not.
 */
export function isMemoryMetric(metric: string): boolean {
  if (metric === 'rss_bytes' || metric === 'memory_bytes') return true
  if (/^gpu\d+_memory_bytes$/.test(metric)) return true
  return /^(\w+_)?process_resident_memory_bytes($|\{)/.test(metric)
}

/** Counters whose trend means a slow exhaustion: file descriptors and threads. */
export const COUNT_METRICS = ['open_fds', 'threads'] as const
