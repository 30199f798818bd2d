/**
 * A probe reads one sampled target: a process, a cgroup, a Prometheus endpoint, the GPUs, a network interface. It
 * answers the target's metrics now, `undefined` when the target is gone for good (a process that exited), or throws
 * when it cannot be read this time (an endpoint down): the sampler reports both and goes on with the others.
 */
export interface Probe {
  name: string
  kind: 'process' | 'cgroup' | 'prometheus' | 'nvidia_smi' | 'network'
  read(): Promise<Record<string, number> | undefined>
  /** constant metrics written with every sample: memory_limit_bytes, cpu_limit_cores */
  limits?: Record<string, number>
}

/** A target's limits: the config's, or what the target says of itself; absent ones are left out of the samples. */
export interface ProbeLimits {
  memoryLimitBytes?: number | undefined
  cpuLimitCores?: number | undefined
}

/** The limit rows written with every sample (memory_limit_bytes, cpu_limit_cores), those not known left out. */
export function limitRows(limits: ProbeLimits): Record<string, number> {
  const values = { memory_limit_bytes: limits.memoryLimitBytes, cpu_limit_cores: limits.cpuLimitCores }
  return Object.fromEntries(Object.entries(values).filter((e): e is [string, number] => e[1] !== undefined && Number.isFinite(e[1])))
}
