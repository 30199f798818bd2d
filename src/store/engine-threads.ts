import { readdirSync, readFileSync } from 'node:fs'
import { setPriority } from 'node:os'

/**
 * Node's own threads, by the names Node gives them: all `node` up to Node 20; from Node 22 the main thread, V8's and
 * libuv's pools, the inspector's signal thread and worker_threads each have a name of their own.
 */
export const NODE_THREADS: ReadonlySet<string> = new Set(['node', 'MainThread', 'DelayedTaskSche', 'V8Worker', 'libuv-worker', 'SignalInspector', 'WorkerThread'])

/** The nice value the embedded engine's threads run at: the lowest priority there is. */
export const ENGINE_NICE = 19

/** How often threads the engine starts later (its pools grow on demand) are looked for. */
const SWEEP_MS = 5000

export interface EngineThreads {
  /** Lowers every engine thread not lowered yet. */
  sweep(): void
}

/** One per process: the engine is one native library however many stores the process opens. */
let running: EngineThreads | undefined

/**
 * The embedded engine (chDB, in the proxy's own process) records; the proxy's thread forwards. On a machine short of
 * CPU, the engine's threads (its insert pool, merges, schedulers, memory worker) should take only what the traffic and
 * the system under test leave: they run at nice 19, and a row they have not written yet waits in the writer's bounded
 * queue (and spills past it), never in the caller's path. Linux only (threads are found in /proc/self/task, and
 * setpriority there applies to one thread); elsewhere nothing is changed.
 */
export function lowerEngineThreads(): EngineThreads {
  if (running !== undefined) return running
  let seen = new Set<number>()
  const sweep = (): void => {
    let tids: string[]
    try {
      tids = readdirSync('/proc/self/task')
    } catch {
      return
    }
    // only threads alive now are remembered: a thread id the kernel hands out again is looked at afresh
    const alive = new Set<number>()
    for (const name of tids) {
      const tid = Number(name)
      if (seen.has(tid)) {
        alive.add(tid)
        continue
      }
      let comm: string
      try {
        comm = readFileSync(`/proc/self/task/${name}/comm`, 'utf8').trimEnd()
      } catch {
        continue // the thread ended meanwhile
      }
      // a thread the engine has just started may still carry its creator's name: it is looked at again next time
      if (NODE_THREADS.has(comm)) continue
      alive.add(tid)
      try {
        setPriority(tid, ENGINE_NICE)
      } catch {
        // ended meanwhile
      }
    }
    seen = alive
  }
  sweep()
  setInterval(sweep, SWEEP_MS).unref()
  running = { sweep }
  return running
}
