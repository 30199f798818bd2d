import { readdir, readFile } from 'node:fs/promises'

/** One reading of a process from /proc: resident memory, CPU time used, open file descriptors, threads. */
export interface ProcessReading {
  rss_bytes: number
  cpu_seconds: number
  open_fds: number
  threads: number
}

/** Clock ticks per second for /proc's CPU times (USER_HZ: 100 on Linux). */
const TICKS_PER_S = 100

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
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return undefined
    throw err
  }
}
