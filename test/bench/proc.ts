/** CPU time and memory of a process and its children (nginx's master and workers, hopwatch's owner and workers), from /proc. */
import { execFileSync } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'

const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

/** The process and its direct children. */
export async function family(parent: number): Promise<number[]> {
  const pids = [parent]
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '')
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (ppid === parent) pids.push(Number(name))
  }
  return pids
}

/** User and system CPU seconds of the process and its children so far (every thread). */
export async function familyCpuSeconds(parent: number): Promise<number> {
  let ticks = 0
  for (const pid of await family(parent)) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0)
  }
  return ticks / TICKS
}

/** Resident memory of the process and its children, bytes. */
export async function familyRssBytes(parent: number): Promise<number> {
  let kib = 0
  for (const pid of await family(parent)) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
    kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  }
  return kib * 1024
}
