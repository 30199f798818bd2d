/**
 * npm run bench (second part): what the simulator costs per stream and per request, against a baseline measured in
 * the same run — a bare server with the same transports and no model (sim-baseline-child.ts). Both serve from a
 * process of their own; their CPU time is read from /proc. Prints, per load level, CPU-s per 1,000 frames (live
 * STT: 20 ms frames paced in real time) or per 1,000 chat streams, the ratio sim ÷ baseline, and the server
 * process's CPU utilisation (near 1.0 = that level saturates one core).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Pool } from 'undici'
import { WebSocket } from 'ws'
import { table } from '../../src/cli/output.js'
import { speechPcm, startSim, validateSimConfig } from '../../src/sim/index.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const STREAMS = (process.env.BENCH_STREAMS ?? '100,250,500').split(',').map(Number)
const CHATS = (process.env.BENCH_CHATS ?? '50,200,500').split(',').map(Number)
const TOKENS = 20
const TOKEN_MS = 20

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (100 per second on Linux)
}

function startBaseline(): Promise<{ proc: ChildProcess; port: number; pid: number }> {
  const proc = fork(fileURLToPath(new URL('./sim-baseline-child.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, BENCH_TOKENS: String(TOKENS), BENCH_TOKEN_MS: String(TOKEN_MS) } })
  return new Promise((resolve) => proc.once('message', (m: { port: number; pid: number }) => resolve({ proc, ...m })))
}

/** `streams` live STT streams for SECONDS, each a 640-byte frame every 20 ms, then Finalize; frames sent. */
async function liveStreams(url: string, streams: number): Promise<{ frames: number; finals: number }> {
  const frame = speechPcm(16_000, 20)
  let frames = 0
  let finals = 0
  await Promise.all(
    Array.from({ length: streams }, async (_, i) => {
      const ws = new WebSocket(url, { perMessageDeflate: false })
      await new Promise((r) => ws.once('open', r))
      // start times spread over one frame period, as real callers' are
      await new Promise((r) => setTimeout(r, (i * 20) / streams))
      const final = new Promise<void>((resolve) => ws.on('message', (d: Buffer) => d.includes('"is_final":true') && resolve()))
      const end = Date.now() + SECONDS * 1000
      const startedAt = performance.now()
      let sent = 0
      while (Date.now() < end) {
        ws.send(frame)
        sent++
        // paced against the clock, not by fixed sleeps, so a late timer does not slow the stream down
        const wait = startedAt + sent * 20 - performance.now()
        if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      }
      frames += sent
      ws.send(JSON.stringify({ type: 'Finalize' }))
      await final
      finals++
      ws.close()
    }),
  )
  return { frames, finals }
}

/** Closed loop of `concurrency` streaming chat requests for SECONDS; completed streams. */
async function chatStreams(base: string, concurrency: number): Promise<number> {
  const url = new URL(base)
  const pool = new Pool(url.origin, { connections: concurrency })
  const body = JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content: 'hello there' }] })
  let done = 0
  const end = Date.now() + SECONDS * 1000
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', body, headers: { 'content-type': 'application/json' } })
        for await (const _ of res.body) void _
        if (res.statusCode === 200) done++
      }
    }),
  )
  await pool.close()
  return done
}

async function measure<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; cpu: number; wall: number }> {
  const cpu0 = cpuSeconds(pid)
  const t0 = performance.now()
  const result = await work()
  return { result, cpu: cpuSeconds(pid) - cpu0, wall: (performance.now() - t0) / 1000 }
}

async function main(): Promise<void> {
  const baseline = await startBaseline()
  const sim = await startSim(
    validateSimConfig(
      {
        services: [
          { name: 'stt', kind: 'stt', process: 'separate', workers: 10_000, queue: 10_000, latency: { median_ms: 1 }, wer: { base: 0, growth: 0 } },
          { name: 'llm', kind: 'llm', process: 'separate', workers: 10_000, queue: 10_000, ttft: { median_ms: 0 }, tokens_per_s: 1000 / TOKEN_MS, reply_words: { min: TOKENS, max: TOKENS } },
        ],
      },
      'bench',
    ),
  )
  const stt = sim.services.find((s) => s.name === 'stt')!
  const llm = sim.services.find((s) => s.name === 'llm')!
  const rows: string[][] = []
  try {
    for (const streams of STREAMS) {
      const base = await measure(baseline.pid, () => liveStreams(`ws://127.0.0.1:${baseline.port}/`, streams))
      const simulated = await measure(stt.pid, () => liveStreams(`${stt.url.replace('http:', 'ws:')}/v1/listen?encoding=linear16&sample_rate=16000&endpointing=false`, streams))
      const per = (m: typeof base) => (m.cpu / m.result.frames) * 1000
      rows.push([`live STT, ${streams} streams`, per(base).toFixed(3), per(simulated).toFixed(3), (per(simulated) / per(base)).toFixed(2), (base.cpu / base.wall).toFixed(2), (simulated.cpu / simulated.wall).toFixed(2)])
    }
    for (const chats of CHATS) {
      const base = await measure(baseline.pid, () => chatStreams(`http://127.0.0.1:${baseline.port}`, chats))
      const simulated = await measure(llm.pid, () => chatStreams(llm.url, chats))
      const per = (m: typeof base) => (m.cpu / m.result) * 1000
      rows.push([`chat SSE, ${chats} concurrent`, per(base).toFixed(3), per(simulated).toFixed(3), (per(simulated) / per(base)).toFixed(2), (base.cpu / base.wall).toFixed(2), (simulated.cpu / simulated.wall).toFixed(2)])
    }
  } finally {
    baseline.proc.send('stop')
    await sim.close()
  }
  process.stdout.write(`\nSimulator vs a bare server with the same transports (${SECONDS} s per level; live STT per 1,000 frames, chat per 1,000 streams of ${TOKENS} tokens):\n`)
  process.stdout.write(table(['load', 'baseline CPU-s', 'sim CPU-s', 'sim ÷ baseline', 'baseline CPU use', 'sim CPU use'], rows))
}

await main()
