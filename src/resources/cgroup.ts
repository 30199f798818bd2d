import { readFile } from 'node:fs/promises'
import { limitRows, type Probe, type ProbeLimits } from './probe.js'

const numberIn = (text: string) => (text.trim() === 'max' ? undefined : Number(text.trim()))

/**
 * The cgroup's inactive file pages, from memory.stat (v2 `inactive_file`, v1 `total_inactive_file`: both count the
 * cgroup's children, as its usage does); 0 when it says nothing of them.
 */
const INACTIVE_FILE = { v2: /^inactive_file (\d+)$/m, v1: /^total_inactive_file (\d+)$/m } as const

async function inactiveFileBytes(dir: string, version: keyof typeof INACTIVE_FILE): Promise<number> {
  const m = INACTIVE_FILE[version].exec(await readFile(`${dir}/memory.stat`, 'utf8').catch(() => ''))
  return m !== null ? Number(m[1]) : 0
}

/**
 * A container's cgroup (v2: memory.current, memory.stat, memory.max, cpu.stat's usage_usec, cpu.max; v1:
 * memory.usage_in_bytes, memory.stat, memory.limit_in_bytes, cpuacct.usage). The limits are read from the cgroup
 * itself unless the config gives them.
 *
 * `memory_bytes` is the working set, as Kubernetes counts a container's memory (the kubelet's evictions and
 * `container_memory_working_set_bytes`): the usage less the inactive file pages, which the kernel reclaims before it
 * runs out. The usage itself counts the page cache of every file the container wrote or read, which grows with its
 * logs and falls only when memory runs short: trended, it would read as a leak. The usage is `memory_usage_bytes`.
 */
export function cgroupProbe(name: string, dir: string, limits: ProbeLimits = {}): Probe {
  const probe: Probe = {
    name,
    kind: 'cgroup',
    async read() {
      const v2 = await readFile(`${dir}/memory.current`, 'utf8').catch(() => undefined)
      const out: Record<string, number> = {}
      if (v2 !== undefined) {
        const usage = Number(v2.trim())
        out.memory_usage_bytes = usage
        out.memory_bytes = Math.max(0, usage - (await inactiveFileBytes(dir, 'v2')))
        const cpu = /^usage_usec (\d+)/m.exec(await readFile(`${dir}/cpu.stat`, 'utf8').catch(() => ''))
        if (cpu !== null) out.cpu_seconds = Number(cpu[1]) / 1e6
        const max = numberIn(await readFile(`${dir}/memory.max`, 'utf8').catch(() => 'max'))
        const [quota, period] = (await readFile(`${dir}/cpu.max`, 'utf8').catch(() => 'max 100000')).trim().split(/\s+/)
        probe.limits = limitRows({ memoryLimitBytes: limits.memoryLimitBytes ?? max, cpuLimitCores: limits.cpuLimitCores ?? (quota !== 'max' ? Number(quota) / Number(period) : undefined) })
        return out
      }
      // cgroup v1: the memory and cpuacct controllers are separate hierarchies; `dir` is the memory one
      const v1 = await readFile(`${dir}/memory.usage_in_bytes`, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new Error(`${dir} is not a cgroup directory (no memory.current or memory.usage_in_bytes): ${err.code ?? err.message}`)
      })
      const usage = Number(v1.trim())
      out.memory_usage_bytes = usage
      out.memory_bytes = Math.max(0, usage - (await inactiveFileBytes(dir, 'v1')))
      const cpu = await readFile(`${dir.replace('/memory/', '/cpuacct/')}/cpuacct.usage`, 'utf8').catch(() => undefined)
      if (cpu !== undefined) out.cpu_seconds = Number(cpu.trim()) / 1e9
      const max = Number((await readFile(`${dir}/memory.limit_in_bytes`, 'utf8').catch(() => '0')).trim())
      // v1 says "no limit" with a huge number near 2^63
      probe.limits = limitRows({ memoryLimitBytes: limits.memoryLimitBytes ?? (max > 0 && max < 2 ** 60 ? max : undefined), cpuLimitCores: limits.cpuLimitCores })
      return out
    },
  }
  return probe
}
