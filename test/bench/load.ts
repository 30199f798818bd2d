/** What the benchmarks share: child processes, samples, and the three load shapes (closed loop, fixed rate, SSE). */
import { execFileSync, fork, type ChildProcess } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Pool } from 'undici'
import { family } from './proc.js'

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const here = (name: string) => fileURLToPath(new URL(name, import.meta.url))

/** A bench process, ready once it sends its first message; `execArgv` (Node's flags) and `pipeStdout` as fork takes them. */
export function child<T>(file: string, args: string[], env: Record<string, string> = {}, options: { execArgv?: string[]; pipeStdout?: boolean } = {}): Promise<{ proc: ChildProcess; ready: T }> {
  const proc = fork(here(file), args, { stdio: ['ignore', options.pipeStdout === true ? 'pipe' : 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env }, ...(options.execArgv !== undefined ? { execArgv: options.execArgv } : {}) })
  return new Promise((resolve, reject) => {
    proc.once('message', (ready) => resolve({ proc, ready: ready as T }))
    proc.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)))
  })
}

export function ask<T>(proc: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    proc.once('message', (m) => resolve(m as T))
    proc.send(message)
  })
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

/** The middle of a few repeats (the upper one of an even count), as every bench reports them. */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
/** A figure for a table: fixed digits, or n/a when there is none. */
export const f = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')
/** Repeats as "median (min–max)". */
export const spread = (xs: number[], digits = 2) => `${f(median(xs), digits)} (${f(Math.min(...xs), digits)}–${f(Math.max(...xs), digits)})`

export class Samples {
  private values = new Float64Array(1 << 16)
  n = 0
  add(ms: number): void {
    if (this.n === this.values.length) {
      const grown = new Float64Array(this.values.length * 2)
      grown.set(this.values)
      this.values = grown
    }
    this.values[this.n++] = ms
  }
  sorted(): Float64Array {
    return this.values.slice(0, this.n).sort()
  }
}

/** Samples of several runs as one sorted set. */
export function pooled(runs: Float64Array[]): Float64Array {
  const all = new Float64Array(runs.reduce((n, r) => n + r.length, 0))
  let at = 0
  for (const r of runs) {
    all.set(r, at)
    at += r.length
  }
  return all.sort()
}

export const msSince = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6
/** The base URL's path without its trailing slash, so direct ('/') and proxied ('/u') paths join the same way. */
const basePath = (url: URL) => url.pathname.replace(/\/$/, '')

/** Closed loop: `concurrency` callers, each sending its next request when the last one ends. */
export async function closedLoop(base: string, path: string, concurrency: number): Promise<{ rps: number; lat: Float64Array; errors: number }> {
  const url = new URL(base)
  const pool = new Pool(url.origin, { connections: concurrency, pipelining: 1 })
  const samples = new Samples()
  let errors = 0
  const end = Date.now() + SECONDS * 1000
  const started = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t0 = process.hrtime.bigint()
        try {
          const res = await pool.request({ path: basePath(url) + path, method: 'GET' })
          for await (const _ of res.body) void _
          if (res.statusCode !== 200) errors++
          samples.add(msSince(t0))
        } catch {
          errors++
        }
      }
    }),
  )
  const seconds = msSince(started) / 1000
  await pool.close()
  return { rps: samples.n / seconds, lat: samples.sorted(), errors }
}

/** Open loop at a fixed rate: requests start on schedule whatever the answers do. */
export async function fixedRate(base: string, path: string, rate: number, seconds = SECONDS): Promise<{ lat: Float64Array; errors: number; sent: number }> {
  const url = new URL(base)
  const pool = new Pool(url.origin, { connections: 256, pipelining: 1 })
  const samples = new Samples()
  let errors = 0
  let sent = 0
  const inflight = new Set<Promise<void>>()
  const started = Date.now()
  while (Date.now() - started < seconds * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate)
    for (; sent < due; sent++) {
      const t0 = process.hrtime.bigint()
      const p = pool
        .request({ path: url.pathname + path, method: 'GET' })
        .then(async (res) => {
          for await (const _ of res.body) void _
          samples.add(msSince(t0))
        })
        .catch(() => void errors++)
        .finally(() => inflight.delete(p))
      inflight.add(p)
    }
    await new Promise((r) => setTimeout(r, 2))
  }
  await Promise.all(inflight)
  await pool.close()
  return { lat: samples.sorted(), errors, sent }
}

/** `streams` SSE streams open at once, in rounds for `seconds` (one round at least); time to the first event of each. */
export async function sseFirstEvent(base: string, streams: number, seconds = SECONDS): Promise<{ lat: Float64Array; errors: number }> {
  const url = new URL(base)
  const pool = new Pool(url.origin, { connections: streams, pipelining: 1 })
  const samples = new Samples()
  let errors = 0
  const end = Date.now() + seconds * 1000
  do {
    await Promise.all(
      Array.from({ length: streams }, async () => {
        const t0 = process.hrtime.bigint()
        try {
          const res = await pool.request({ path: `${basePath(url)}/sse`, method: 'GET' })
          let first = true
          for await (const _ of res.body) {
            if (first) samples.add(msSince(t0))
            first = false
          }
        } catch {
          errors++
        }
      }),
    )
  } while (Date.now() < end)
  await pool.close()
  return { lat: samples.sorted(), errors }
}

/**
 * Core pinning, so the generator does not decide the latencies it reads: on a machine of n cores, the upstream and
 * the proxy under test (every thread of their processes and children) share the last core, as a sidecar shares the
 * agent's machine, and the generator (this process) has the others to itself. Without it, on 2 cores the generator's
 * own event loop and the proxy take turns on the same cores and the p99s read the generator's delays as much as the
 * proxy's. The direct baseline then runs the upstream alone on its core; a proxy's added latency is the time its work
 * takes from the upstream's. Off with BENCH_PIN=0, and on one core.
 */
export const PIN = process.env.BENCH_PIN !== '0' && availableParallelism() >= 2
const LAST_CPU = availableParallelism() - 1
const GENERATOR_CPUS = LAST_CPU === 1 ? '0' : `0-${LAST_CPU - 1}`

async function pin(pid: number, cpus: string): Promise<void> {
  // -a: every thread the process has now; threads it starts later inherit the mask from the thread that starts them
  for (const p of await family(pid)) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(p)], { stdio: 'ignore' })
}
/** Pins the server side, the upstream or a proxy under test (and its children), to the last core, when pinning is on. */
export const pinServerSide = (pid: number) => (PIN ? pin(pid, String(LAST_CPU)) : Promise.resolve())
/** Pins the generator to the other cores, when pinning is on. */
export const pinGenerator = (pid: number) => (PIN ? pin(pid, GENERATOR_CPUS) : Promise.resolve())
export const pinning = () => (PIN ? `pinned: the upstream and each proxy on cpu ${LAST_CPU}, the generator on cpu ${GENERATOR_CPUS}` : 'not pinned (BENCH_PIN=0 or one core): generator, upstream and proxy share every core')
