/** What the benchmarks share: child processes, samples, and the three load shapes (closed loop, fixed rate, SSE). */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Pool } from 'undici'

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const here = (name: string) => fileURLToPath(new URL(name, import.meta.url))

export function child<T>(file: string, args: string[], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; ready: T }> {
  const proc = fork(here(file), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } })
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
export async function fixedRate(base: string, path: string, rate: number): Promise<{ lat: Float64Array; errors: number; sent: number }> {
  const url = new URL(base)
  const pool = new Pool(url.origin, { connections: 256, pipelining: 1 })
  const samples = new Samples()
  let errors = 0
  let sent = 0
  const inflight = new Set<Promise<void>>()
  const started = Date.now()
  while (Date.now() - started < SECONDS * 1000) {
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

/** `streams` SSE streams open at once, in rounds; time to the first event of each. */
export async function sseFirstEvent(base: string, streams: number): Promise<{ lat: Float64Array; errors: number }> {
  const url = new URL(base)
  const pool = new Pool(url.origin, { connections: streams, pipelining: 1 })
  const samples = new Samples()
  let errors = 0
  const end = Date.now() + SECONDS * 1000
  while (Date.now() < end) {
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
  }
  await pool.close()
  return { lat: samples.sorted(), errors }
}

