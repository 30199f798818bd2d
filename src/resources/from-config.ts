import type { ResourcesConfig } from '../config/index.js'
import { cgroupProbe } from './cgroup.js'
import { networkProbe } from './network.js'
import { nvidiaProbe } from './nvidia.js'
import { matchProbe, pidProbe } from './process.js'
import { limitRows, type Probe, type ProbeLimits } from './probe.js'
import { prometheusProbe } from './prometheus.js'

const MB = 1024 * 1024

/** The probes a `resources:` section asks for, plus hopwatch's own process when `self` is on. */
export function probesFromConfig(resources: ResourcesConfig, extra: readonly Probe[] = []): Probe[] {
  const probes: Probe[] = []
  if (resources.self) probes.push(pidProbe('hopwatch', process.pid))
  for (const t of resources.targets) {
    const limits: ProbeLimits = { memoryLimitBytes: t.memory_limit_mb !== undefined ? t.memory_limit_mb * MB : undefined, cpuLimitCores: t.cpu_limit_cores }
    if (t.process?.pid !== undefined) probes.push(pidProbe(t.name, t.process.pid, limits))
    else if (t.process?.match !== undefined) probes.push(matchProbe(t.name, t.process.match, limits))
    else if (t.cgroup !== undefined) probes.push(cgroupProbe(t.name, t.cgroup, limits))
    else if (t.prometheus !== undefined) probes.push(prometheusProbe(t.name, t.prometheus.url, t.prometheus.metrics, Math.max(1000, resources.interval_s * 1000), limitRows(limits)))
    else if (t.nvidia_smi === true) probes.push(nvidiaProbe(t.name))
    else if (t.network !== undefined) probes.push(networkProbe(t.name, t.network.interface))
  }
  return [...probes, ...extra]
}
