/**
 * A sustained mixed load through the recording proxy (issue 14): plain HTTP at a fixed rate, SSE streams, and
 * WebSocket connections that exchange messages and reconnect, for BENCH_SOAK_S seconds (default 600). The proxy's
 * RSS and open fds are sampled every 5 s and judged by the project's own trend analysis (the lower envelope, Theil–Sen,
 * Mann–Kendall): flat is the goal. `node dist/test/bench/soak.bench.js`.
 */
import { readdir, readFile } from 'node:fs/promises'
import { Pool } from 'undici'
import { WebSocket } from 'ws'
import { trendOf, type Point } from '../../src/analyze/trend.js'
import { table } from '../../src/cli/output.js'
import { ClickHouseServer } from '../support/clickhouse-server.js'
import { ask, child } from './load.js'

const SOAK_S = Number(process.env.BENCH_SOAK_S ?? 600)
const HTTP_RATE = Number(process.env.BENCH_SOAK_HTTP ?? 200)
const SSE_RATE = Number(process.env.BENCH_SOAK_SSE ?? 20)
const WS_CONNS = Number(process.env.BENCH_SOAK_WS ?? 20)

const MODE = process.env.BENCH_SOAK_MODE ?? 'embedded'
const upstream = await child<{ port: number }>('upstream-child.js', [])
// BENCH_SOAK_MODE=none forwards without recording, =server records into Debian's ClickHouse server (another process):
// both tell the proxy's own memory from the embedded engine's
const server = MODE === 'server' ? await ClickHouseServer.create() : undefined
const proxy = await child<{ url: string }>('proxy-child.js', [`http://127.0.0.1:${upstream.ready.port}`, server !== undefined ? `server:${server.url}` : MODE])
const base = new URL(proxy.ready.url)
const pool = new Pool(base.origin, { connections: 256 })
const counts = { http: 0, sse: 0, ws: 0, errors: 0 }
const started = Date.now()
const running = () => Date.now() - started < SOAK_S * 1000

async function get(path: string): Promise<void> {
  try {
    const res = await pool.request({ path: `${base.pathname}${path}`, method: 'GET' })
    for await (const _ of res.body) void _
    if (res.statusCode !== 200) counts.errors++
  } catch {
    counts.errors++
  }
}

/** Requests on a fixed schedule, `rate` a second, whatever the answers do. */
async function scheduled(rate: number, path: string, counter: 'http' | 'sse'): Promise<void> {
  let sent = 0
  const inflight = new Set<Promise<void>>()
  while (running()) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate)
    for (; sent < due; sent++) {
      const p = get(path).finally(() => inflight.delete(p))
      inflight.add(p)
      counts[counter]++
    }
    await new Promise((r) => setTimeout(r, 10))
  }
  await Promise.all(inflight)
}

/** A WebSocket that sends a message every 100 ms and reconnects every 30 s, until the soak ends. */
async function socketLoop(): Promise<void> {
  while (running()) {
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`${base.origin.replace('http', 'ws')}${base.pathname}/ws`)
      let timer: NodeJS.Timeout | undefined
      const end = () => {
        clearInterval(timer)
        ws.terminate()
        resolve()
      }
      ws.on('open', () => {
        timer = setInterval(() => {
          if (!running()) return end()
          ws.send(JSON.stringify({ type: 'ping', at: Date.now() }))
          counts.ws++
        }, 100)
        setTimeout(() => {
          clearInterval(timer)
          ws.close(1000)
        }, 30_000)
      })
      ws.on('close', () => end())
      ws.on('error', () => {
        counts.errors++
        end()
      })
    })
  }
}

const rss: Point[] = []
const fds: Point[] = []
const sampler = setInterval(async () => {
  const t = (Date.now() - started) / 1000
  const status = await readFile(`/proc/${proxy.proc.pid}/status`, 'utf8')
  rss.push({ t, value: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024 })
  fds.push({ t, value: (await readdir(`/proc/${proxy.proc.pid}/fd`)).length })
}, 5000)

console.log(`soak: ${SOAK_S} s of ${HTTP_RATE} HTTP req/s, ${SSE_RATE} SSE streams/s and ${WS_CONNS} WebSockets (a message every 100 ms, reconnecting every 30 s) through the proxy (${MODE}: ${MODE === 'none' ? 'forwarding only' : MODE === 'server' ? 'recording into a ClickHouse server' : 'recording into the embedded store'})`)
await Promise.all([scheduled(HTTP_RATE, '/plain', 'http'), scheduled(SSE_RATE, '/sse', 'sse'), ...Array.from({ length: WS_CONNS }, socketLoop)])
clearInterval(sampler)
// the first minute is warm-up (JIT, pools, the engine's caches), as the analyzer's own trends leave it out
const judged = (points: Point[]) => points.filter((p) => p.t >= 60)
const rows = [['rss', rss], ['open fds', fds]].map(([name, points]) => {
  const pts = judged(points as Point[])
  const trend = trendOf(pts)
  const scale = name === 'rss' ? 1e6 : 1
  const unit = name === 'rss' ? 'MB' : ''
  return [name as string, `${((pts[0]?.value ?? 0) / scale).toFixed(name === 'rss' ? 0 : 0)} → ${((pts.at(-1)?.value ?? 0) / scale).toFixed(0)} ${unit}`, `${(trend.slope_per_hour / scale).toFixed(1)} ${unit}/h`, `${(trend.ci_per_hour[0] / scale).toFixed(1)} to ${(trend.ci_per_hour[1] / scale).toFixed(1)}`, trend.p.toFixed(4), trend.verdict]
})
console.log(table(['series', 'after warm-up → end', 'slope', '95 % interval', 'p', 'verdict'], rows))
const cpu = await ask<{ hops: number }>(proxy.proc, 'cpu')
const stopped = await ask<{ written: number; dropped: number }>(proxy.proc, 'stop')
console.log(`traffic: ${counts.http} HTTP, ${counts.sse} SSE, ${counts.ws} WebSocket messages, ${counts.errors} errors; hops ${cpu.hops} recorded, ${stopped.written} written, ${stopped.dropped} dropped`)
await pool.close()
upstream.proc.send('stop')
await server?.destroy()
