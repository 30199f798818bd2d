import { readFile } from 'node:fs/promises'
import { limitRows, type Probe, type ProbeLimits } from './probe.js'

const numberIn = (text: string) => (text.trim() === 'max' ? undefined : Number(text.trim()))

/**
 * A container's cgroup (v2: memory.current, memory.max, cpu.stat's usage_usec, cpu.max; v1: memory.usage_in_bytes,
 * memory.limit_in_bytes, cpuacct.usage). The limits are read from the cgroup itself unless the config gives them.
 */
export function cgroupProbe(name: string, dir: string, limits: ProbeLimits = {}): Probe {
  const probe: Probe = {
    name,
    kind: 'cgroup',
    async read() {
      const v2 = await readFile(`${dir}/memory.current`, 'utf8').catch(() => undefined)
      const out: Record<string, number> = {}
      if (v2 !== undefined) {
        out.memory_bytes = Number(v2.trim())
        const usage = /^usage_usec (\d+)/m.exec(await readFile(`${dir}/cpu.stat`, 'utf8').catch(() => ''))
        if (usage !== null) out.cpu_seconds = Number(usage[1]) / 1e6
        const max = numberIn(await readFile(`${dir}/memory.max`, 'utf8').catch(() => 'max'))
        const [quota, period] = (await readFile(`${dir}/cpu.max`, 'utf8').catch(() => 'max 100000')).trim().split(/\s+/)
        probe.limits = limitRows({ memoryLimitBytes: limits.memoryLimitBytes ?? max, cpuLimitCores: limits.cpuLimitCores ?? (quota !== 'max' ? Number(quota) / Number(period) : undefined) })
        return out
      }
      // cgroup v1: the memory and cpuacct controllers are separate hierarchies; `dir` is the memory one
      const v1 = await readFile(`${dir}/memory.usage_in_bytes`, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new Error(`${dir} is not a cgroup directory (no memory.current or memory.usage_in_bytes): ${err.code ?? err.message}`)
      })
      out.memory_bytes = Number(v1.trim())
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
