/**
 * What recording costs the proxy's garbage collector: the same proxy forwarding only and recording into the embedded
 * store, side by side in one run, at a fixed 1,000 req/s in alternating turns, each process under `--trace-gc-nvp`.
 * Per 1,000 requests: young-generation (scavenge) and full (mark-compact) pause on the main thread; per scavenge, the
 * bytes that survived it and the bytes promoted to the old generation (which full collections must later mark). A
 * scavenge copies what survives, so what the proxy keeps alive across one is what it pays for there; what it
 * promotes comes back as a full collection, whose pause lands in whatever requests are in flight then. Read the
 * ratios: the machine is shared and noisy, and these counts move with the allocation rate.
 */
import type { ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { table } from '../../src/cli/output.js'
import { ask, child, f, fixedRate, median, percentile, pinGenerator, pinning, pinServerSide, spread } from './load.js'

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3)
const RATE = Number(process.env.BENCH_RATE ?? 1000)
const TURN_SECONDS = Number(process.env.BENCH_GC_SECONDS ?? 10)

interface Traced {
  proc: ChildProcess
  url: string
  /** --trace-gc-nvp's lines so far */
  out: string[]
}

/** The bench's proxy child (proxy-child.ts) under --trace-gc-nvp, its stdout kept line by line. */
async function traced(upstream: string, mode: string): Promise<Traced> {
  const { proc, ready } = await child<{ url: string }>('proxy-child.js', [upstream, mode], {}, { execArgv: ['--trace-gc-nvp'], pipeStdout: true })
  const out: string[] = []
  createInterface({ input: proc.stdout as Readable }).on('line', (line) => out.push(line))
  return { proc, url: ready.url, out }
}

/** One name=value of a --trace-gc-nvp line. */
const field = (line: string, name: string): number => Number(new RegExp(`(?:^|\\s)${name.replace('.', '\\.')}=([\\d.]+)`).exec(line)?.[1] ?? Number.NaN)

interface Turn {
  requests: number
  p99: number
  scavenges: number
  scavengeMs: number
  survivedKb: number
  promotedKb: number
  fullCollections: number
  fullMs: number
}

function gcOf(lines: string[], requests: number, p99: number): Turn {
  const scavenges = lines.filter((l) => / gc=s /.test(l))
  const full = lines.filter((l) => / gc=(?:ms|mc) /.test(l))
  const sum = (ls: string[], name: string) => ls.reduce((a, l) => a + (field(l, name) || 0), 0)
  return {
    requests,
    p99,
    scavenges: scavenges.length,
    scavengeMs: sum(scavenges, 'pause'),
    survivedKb: scavenges.length === 0 ? 0 : median(scavenges.map((l) => field(l, 'new_space_survived') / 1024)),
    promotedKb: sum(scavenges, 'promoted') / 1024,
    fullCollections: full.length,
    fullMs: sum(full, 'pause'),
  }
}

async function main(): Promise<void> {
  const upstream = await child<{ port: number }>('upstream-child.js', [])
  const direct = `http://127.0.0.1:${upstream.ready.port}`
  const paths = { bare: await traced(direct, 'none'), rec: await traced(direct, 'embedded') }
  await pinGenerator(process.pid)
  for (const pid of [upstream.proc.pid as number, paths.bare.proc.pid as number, paths.rec.proc.pid as number]) await pinServerSide(pid)
  console.log(`GC cost of recording: ${REPEATS} repeats of a ${TURN_SECONDS} s turn each at ${RATE} req/s, alternating; ${pinning()}\n`)
  // warm both (JIT, pools, the store's first parts) before anything counts
  for (const p of Object.values(paths)) await fixedRate(p.url, '/plain', RATE, 3)
  const turns: Record<keyof typeof paths, Turn[]> = { bare: [], rec: [] }
  for (let r = 0; r < REPEATS; r++) {
    for (const key of r % 2 === 0 ? (['bare', 'rec'] as const) : (['rec', 'bare'] as const)) {
      const p = paths[key]
      const from = p.out.length
      const run = await fixedRate(p.url, '/plain', RATE, TURN_SECONDS)
      // the collections a turn's allocations caused may come just after it
      await new Promise((resolve) => setTimeout(resolve, 500))
      turns[key].push(gcOf(p.out.slice(from), run.sent, percentile(run.lat, 99)))
    }
  }
  const per1k = (t: Turn, v: number) => (v / t.requests) * 1000
  const row = (name: string, ts: Turn[]) => [
    name,
    spread(ts.map((t) => per1k(t, t.scavengeMs))),
    spread(ts.map((t) => t.scavengeMs / Math.max(1, t.scavenges))),
    spread(ts.map((t) => t.survivedKb), 0),
    spread(ts.map((t) => per1k(t, t.promotedKb)), 0),
    spread(ts.map((t) => per1k(t, t.fullMs))),
    String(ts.reduce((a, t) => a + t.fullCollections, 0)),
    spread(ts.map((t) => t.p99)),
  ]
  console.log(table(['path', 'scavenge ms / 1k req', 'ms a scavenge', 'KB surviving a scavenge', 'KB promoted / 1k req', 'full GC ms / 1k req', 'full GCs', 'p99 ms'], [row('hopwatch, no recording', turns.bare), row('hopwatch, recording (embedded)', turns.rec)]))
  const ratio = (pick: (t: Turn) => number) => f(median(turns.rec.map(pick)) / median(turns.bare.map(pick)))
  console.log(`\nrecording ÷ forwarding only: scavenge pause per request ${ratio((t) => per1k(t, t.scavengeMs))} ×, bytes surviving a scavenge ${ratio((t) => t.survivedKb)} ×, bytes promoted per request ${ratio((t) => per1k(t, t.promotedKb))} ×`)
  const hops = (await ask<{ hops: number }>(paths.rec.proc, 'cpu')).hops
  const stopped = await ask<{ written: number; dropped: number }>(paths.rec.proc, 'stop')
  console.log(`rows: ${hops} hops recorded, ${stopped.written} written, ${stopped.dropped} dropped`)
  await ask(paths.bare.proc, 'stop')
  upstream.proc.kill('SIGTERM')
}

await main()
process.exit(0)
