import { availableParallelism } from 'node:os'
import { readdir, readFile } from 'node:fs/promises'
import { limitRows, type Probe, type ProbeLimits } from './probe.js'

/** One reading of a process from /proc: resident memory, CPU time used, open file descriptors, threads. */
export interface ProcessReading {
  rss_bytes: number
  cpu_seconds: number
  open_fds: number
  threads: number
}

/** Clock ticks per second for /proc's CPU times (USER_HZ: 100 on Linux). */
const TICKS_PER_S = 100

const gone = (err: unknown) => ['ENOENT', 'ESRCH'].includes((err as NodeJS.ErrnoException).code ?? '')

/** Reads a process by pid; undefined when it is gone. */
export async function readProcess(pid: number): Promise<ProcessReading | undefined> {
  try {
    const [status, stat, fds] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8'), readdir(`/proc/${pid}/fd`)])
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0)
    // the command name in stat may hold spaces and parentheses: the fields start after its last ')'
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(after[11] ?? 0) + Number(after[12] ?? 0)
    return { rss_bytes: field('VmRSS') * 1024, cpu_seconds: ticks / TICKS_PER_S, open_fds: fds.length, threads: field('Threads') }
  } catch (err) {
    if (gone(err)) return undefined
    throw err
  }
}

/** Pids whose command line (arguments joined by spaces) contains `match`, this process excepted. */
export async function findPids(match: string): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || pid === process.pid) continue
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.replaceAll('\0', ' ').trim().includes(match)) pids.push(pid)
  }
  return pids
}

/** A process may use the whole machine unless the config says otherwise. */
const processLimits = (limits: ProbeLimits) => limitRows({ ...limits, cpuLimitCores: limits.cpuLimitCores ?? availableParallelism() })

/** A process by pid: gone for good when it exits. */
export function pidProbe(name: string, pid: number, limits: ProbeLimits = {}): Probe {
  return { name, kind: 'process', limits: processLimits(limits), read: async () => (await readProcess(pid)) as Record<string, number> | undefined }
}

/**
 * The processes whose command line contains `match`, summed (a server and its workers), looked up again at every
 * sample so a restarted process is followed. None found is an error for this sample, not the end of the target.
 */
export function matchProbe(name: string, match: string, limits: ProbeLimits = {}): Probe {
  return {
    name,
    kind: 'process',
    limits: processLimits(limits),
    async read() {
      const readings = (await Promise.all((await findPids(match)).map((pid) => readProcess(pid)))).filter((r) => r !== undefined)
      if (readings.length === 0) throw new Error(`no process has "${match}" in its command line`)
      const sum: Record<string, number> = { rss_bytes: 0, cpu_seconds: 0, open_fds: 0, threads: 0 }
      for (const r of readings) for (const [k, v] of Object.entries(r)) sum[k] = (sum[k] ?? 0) + v
      return { ...sum, processes: readings.length }
    },
  }
}
