import { readdirSync, readFileSync } from 'node:fs'
import { getPriority } from 'node:os'

export interface ThreadInfo {
  tid: number
  /** the thread's name (/proc/<pid>/task/<tid>/comm) */
  comm: string
  /** its nice value */
  nice: number
}

/** A process's threads now, each with its name and nice value; a thread that ends while they are read is left out. */
export function threadsOf(pid: number | 'self' = 'self'): ThreadInfo[] {
  const out: ThreadInfo[] = []
  for (const name of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push({ tid: Number(name), comm: readFileSync(`/proc/${pid}/task/${name}/comm`, 'utf8').trimEnd(), nice: getPriority(Number(name)) })
    } catch {
      // ended meanwhile
    }
  }
  return out
}
