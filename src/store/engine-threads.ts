import { readdirSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
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

/** Opens at once when libuv's pool threads are looked for, and rounds of them before giving up on a busy thread. */
const POOL_PROBES = 64
const POOL_ROUNDS = 5

export interface EngineThreads {
  /** Lowers every engine thread not lowered yet. */
  sweep(): void
  /** libuv's pool threads, once lowered (their thread ids; those a round could not reach stay as they were). */
  pool: Promise<number[]>
}

/** One per process: the engine is one native library however many stores the process opens. */
let running: EngineThreads | undefined

/**
 * The embedded engine (chDB, in the proxy's own process) records; the proxy's thread forwards. On a machine short of
 * CPU, the engine's threads (its insert pool, merges, schedulers, memory worker) should take only what the traffic and
 * the system under test leave: they run at nice 19, and a row they have not written yet waits in the writer's bounded
 * queue (and spills past it), never in the caller's path. The engine's inserts and queries themselves run on libuv's
 * thread pool (chDB's queryAsync), so its threads are lowered too: what else uses the pool in the proxy (spill files,
 * the resource sampler's reads) can wait, and upstream names come from a cache that never makes a connection wait
 * for a lookup (proxy/dns-cache.ts). Linux only (threads are found in /proc/self/task, and setpriority there applies
 * to one thread); elsewhere nothing is changed.
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
  const pool = poolThreadIds().then((tids) => {
    for (const tid of tids) {
      try {
        setPriority(tid, ENGINE_NICE)
      } catch {
        // ended meanwhile
      }
    }
    return tids
  })
  running = { sweep, pool }
  return running
}

/** libuv's pool size: UV_THREADPOOL_SIZE if set (libuv keeps it within 1..1024), else 4. */
export function poolSize(): number {
  const n = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10)
  return Number.isFinite(n) && n > 0 ? Math.min(n, 1024) : 4
}

/**
 * The thread ids of libuv's pool. On Node 20 its threads carry the name `node`, as the main thread and V8's do, so
 * they are found by what they do: an open of /proc/thread-self/stat runs on the pool thread that takes it and reads
 * that thread's own stat, and many opens at once reach every thread that is free. A thread busy through all rounds
 * is not found. Empty where /proc is not.
 */
export async function poolThreadIds(): Promise<number[]> {
  const found = new Set<number>()
  for (let round = 0; round < POOL_ROUNDS && found.size < poolSize(); round++) {
    const stats = await Promise.all(Array.from({ length: POOL_PROBES }, () => readFile('/proc/thread-self/stat', 'utf8').catch(() => '')))
    for (const stat of stats) {
      const tid = Number.parseInt(stat, 10)
      if (Number.isInteger(tid) && tid !== process.pid) found.add(tid)
    }
    if (found.size === 0) break
  }
  return [...found]
}
