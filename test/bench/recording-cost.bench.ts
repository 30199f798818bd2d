/**
 * What recording costs against nginx with an access log, side by side in one run (issue 16's goals): at a fixed
 * rate, CPU seconds per 1,000 requests of every thread of each proxy process and the p99 latency each adds over a
 * direct call; throughput at saturation (closed loop, 50 connections); SSE time to first event at 1,000 streams; idle
 * RSS. Three repeats, median and range. The machine is shared and noisy: read the ratios, measured in the same run.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { medianInterval } from '../../src/analyze/stats.js'
import { table } from '../../src/cli/output.js'
import { Rng } from '../../src/sim/random.js'
import { ask, child, closedLoop, f, fixedRate, median, percentile, pinGenerator, pinning, pinServerSide, pooled, SECONDS, spread, sseFirstEvent } from './load.js'
import { startNginx } from './nginx.js'

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3)
const RATE = Number(process.env.BENCH_RATE ?? 1000)
const SETTLE_MS = 3000
const SSE_ROUNDS = Number(process.env.BENCH_SSE_ROUNDS ?? 3)
const SAT_ROUNDS = Number(process.env.BENCH_SAT_ROUNDS ?? 3)
const IDLE_MS = 5000

type Cpu = { cpuSeconds: number; hops: number; rssBytes: number; anonBytes?: number }
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS))
// seeded, so a run can be repeated turn for turn
const order = new Rng('recording-cost')
/** 0 … n − 1 in an order of its own (Fisher–Yates). */
function shuffled(n: number): number[] {
  const out = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = order.int(0, i)
    ;[out[i], out[j]] = [out[j] as number, out[i] as number]
  }
  return out
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-cost-'))
  const upstream = await child<{ port: number }>('upstream-child.js', [])
  const direct = `http://127.0.0.1:${upstream.ready.port}`
  const nginx = await startNginx(join(dir, 'nginx'), upstream.ready.port, Number(process.env.BENCH_NGINX_WORKERS ?? 1))
  const recording = await child<{ url: string }>('proxy-child.js', [direct, 'embedded'])
  const bare = await child<{ url: string }>('proxy-child.js', [direct, 'none'])
  const floor = await child<{ url: string }>('node-floor-child.js', [direct])
  const cpuOf = (proc: typeof recording.proc) => ask<Cpu>(proc, 'cpu')
  await pinGenerator(process.pid)
  for (const pid of [upstream.proc.pid as number, nginx.pid, recording.proc.pid as number, bare.proc.pid as number, floor.proc.pid as number]) await pinServerSide(pid)
  const idleEmbedded = await cpuOf(recording.proc)
  // the floors under the idle RSS goals: Node.js forwarding (the floor above), and Node.js holding the opened embedded engine
  const storeFloor = await child<{ ready: true }>('store-floor-child.js', [])
  const engineFloor = await cpuOf(storeFloor.proc)
  storeFloor.proc.send('stop')
  const idle = {
    embedded: idleEmbedded.rssBytes,
    embeddedAnon: idleEmbedded.anonBytes ?? Number.NaN,
    none: (await cpuOf(bare.proc)).rssBytes,
    nginx: await nginx.rssBytes(),
    nodeFloor: (await cpuOf(floor.proc)).rssBytes,
    engineFloor: engineFloor.rssBytes,
  }
  console.log(`recording cost vs nginx ${process.env.BENCH_NGINX_WORKERS ?? 1} worker(s) with an access log: ${REPEATS} repeats of ${SECONDS} s; upstream, nginx and each proxy in their own processes; ${pinning()}\n`)
  for (const base of [direct, nginx.url, recording.ready.url, bare.ready.url, floor.ready.url]) await closedLoop(base, '/plain', 50)

  // Each measurement runs the paths in turn, one second (or one round of streams) at a time, in an order shuffled anew
  // for every turn, and pools each path's samples: a hiccup of the shared machine (or the generator's own pause) then
  // falls on every path alike instead of on whichever one ran at that moment. Shuffled, not rotated: a rotation keeps
  // each path behind the same one, and what a proxy still does after its turn (the recording one's last insert, a
  // collection) would always land in the same neighbour's turn
  type Path = { key: 'direct' | 'nginx' | 'floor' | 'bare' | 'rec'; url: string; cpu?: () => Promise<number> }
  const procCpu = (proc: typeof recording.proc) => async () => (await cpuOf(proc)).cpuSeconds
  const paths: Path[] = [
    { key: 'direct', url: direct },
    { key: 'nginx', url: nginx.url, cpu: () => nginx.cpuSeconds() },
    { key: 'floor', url: floor.ready.url, cpu: procCpu(floor.proc) },
    { key: 'bare', url: bare.ready.url, cpu: procCpu(bare.proc) },
    { key: 'rec', url: recording.ready.url, cpu: procCpu(recording.proc) },
  ]
  // what each process burns doing nothing (timers, the embedded engine's background threads), in CPU seconds a second:
  // in the turns below a path idles about four fifths of the time, so this is counted four times over against its requests
  await settle()
  const idleC0 = await Promise.all(paths.map((p) => p.cpu?.() ?? 0))
  await new Promise((r) => setTimeout(r, IDLE_MS))
  const idleC1 = await Promise.all(paths.map((p) => p.cpu?.() ?? 0))
  const idleRate = Object.fromEntries(paths.map((p, i) => [p.key, ((idleC1[i] as number) - (idleC0[i] as number)) / (IDLE_MS / 1000)])) as Record<Path['key'], number>

  const perPath = () => ({ direct: [] as number[], nginx: [] as number[], floor: [] as number[], bare: [] as number[], rec: [] as number[] })
  /**
   * One repeat: `slices` turns of every path; each path's p99 over its pooled samples and its CPU seconds per 1,000 of
   * what it served (every thread, until SETTLE_MS after the last turn: the recording proxy's inserts count too; the
   * seconds a proxy idled while the others ran count as well). `turns` gets each path's p99 of every turn alone, for
   * comparing two paths turn by turn: turns of one slice run back to back, so they share what the machine was doing.
   */
  async function interleaved(slices: number, run: (url: string) => Promise<{ lat: Float64Array; count: number }>, p99: ReturnType<typeof perPath>, cpu: ReturnType<typeof perPath>, cpuBusy?: ReturnType<typeof perPath>, turns?: ReturnType<typeof perPath>): Promise<void> {
    const c0 = await Promise.all(paths.map((p) => p.cpu?.() ?? 0))
    const t0 = performance.now()
    const runs = paths.map(() => [] as Float64Array[])
    const counts = paths.map(() => 0)
    const activeMs = paths.map(() => 0)
    for (let slice = 0; slice < slices; slice++) {
      for (const i of shuffled(paths.length)) {
        const started = performance.now()
        const out = await run((paths[i] as Path).url)
        activeMs[i] = (activeMs[i] as number) + performance.now() - started
        runs[i]?.push(out.lat)
        turns?.[(paths[i] as Path).key].push(percentile(out.lat, 99))
        counts[i] = (counts[i] as number) + out.count
      }
    }
    await settle()
    const c1 = await Promise.all(paths.map((p) => p.cpu?.() ?? 0))
    const windowMs = performance.now() - t0
    paths.forEach((p, i) => {
      const used = (c1[i] as number) - (c0[i] as number)
      p99[p.key].push(percentile(pooled(runs[i] as Float64Array[]), 99))
      cpu[p.key].push(used / ((counts[i] as number) / 1000))
      // as if the path had served without a pause: less what it burns idle, for the time the other paths ran
      cpuBusy?.[p.key].push((used - (idleRate[p.key] * (windowMs - (activeMs[i] as number))) / 1000) / ((counts[i] as number) / 1000))
    })
  }

  const rate = { p99: perPath(), cpu: perPath(), busy: perPath(), turns: perPath() }
  const sat = { nginx: [] as number[], rec: [] as number[], floor: [] as number[], bare: [] as number[] }
  const satPaths = [['nginx', nginx.url], ['rec', recording.ready.url], ['floor', floor.ready.url], ['bare', bare.ready.url]] as const
  // CPU seconds per 1,000 streams: the figure the p99 follows when 1,000 streams start at once on a shared core
  const sse = { p99: perPath(), cpu: perPath(), turns: perPath() }
  for (let r = 0; r < REPEATS; r++) {
    await interleaved(SECONDS, async (url) => {
      const out = await fixedRate(url, '/plain', RATE, 1)
      return { lat: out.lat, count: out.sent }
    }, rate.p99, rate.cpu, rate.busy, rate.turns)
    // saturation in rounds, the paths in an order shuffled anew for each, as the turns above: what one path leaves
    // behind (the recording proxy's inserts) falls on a different neighbour each time. Every proxy, forwarding only
    // too, goes through the burst, so each meets the SSE turns in the same state: left out, forwarding only was the
    // worst path at SSE in every run (the figures: docs/reference.md, the bench's method)
    for (let round = 0; round < SAT_ROUNDS; round++) {
      for (const i of shuffled(satPaths.length)) {
        const [key, url] = satPaths[i] as (typeof satPaths)[number]
        sat[key].push((await closedLoop(url, '/plain', 50)).rps)
      }
    }
    await settle()
    await interleaved(SSE_ROUNDS, async (url) => {
      const out = await sseFirstEvent(url, 1000, 0)
      return { lat: out.lat, count: out.lat.length + out.errors }
    }, sse.p99, sse.cpu, undefined, sse.turns)
  }

  const added = (m: ReturnType<typeof perPath>, key: Path['key']) => m[key].map((x, i) => x - (m.direct[i] as number))
  const ratio = (a: number[], b: number[]) => median(a.map((x, i) => x / (b[i] as number)))
  const goal = (ok: boolean) => (ok ? '✓' : '✗')
  const PATHS = [
    ['nginx + access log, proxy_buffering off', 'nginx'],
    ['Node.js floor: node:http + undici, nothing else', 'floor'],
    ['hopwatch, no recording', 'bare'],
    ['hopwatch, recording (embedded)', 'rec'],
  ] as const
  const rows = (m: { p99: ReturnType<typeof perPath>; cpu: ReturnType<typeof perPath> }) => PATHS.map(([name, key]) => [name, spread(m.cpu[key], 3), f(ratio(m.cpu[key], m.cpu.nginx)), spread(added(m.p99, key))])
  console.log(`At a fixed ${RATE} requests/s, the paths in turn 1 s at a time (${SECONDS} s each a repeat): CPU per 1,000 requests (every thread of the process, ${SETTLE_MS / 1000} s after included) and p99 latency added over a direct call (${spread(rate.p99.direct)} ms)`)
  console.log(table(['path', 'cpu-s/1k req', '× nginx cpu', 'p99 added ms'], rows(rate)))
  console.log(`\nIdle, and CPU per 1,000 requests less the idle burn for the time the other paths ran (as a path serving ${RATE} requests/s without a pause would count it)`)
  console.log(table(['path', 'idle, % of a core', 'cpu-s/1k req, idle taken out', '× nginx cpu'], PATHS.map(([name, key]) => [name, f(idleRate[key] * 100, 2), spread(rate.busy[key], 3), f(ratio(rate.busy[key], rate.busy.nginx))])))
  console.log(`\nSSE, 1,000 streams at once, the paths in turn (${SSE_ROUNDS} rounds each a repeat): CPU per 1,000 streams and p99 time to first event added over a direct call (${spread(sse.p99.direct)} ms)`)
  console.log(table(['path', 'cpu-s/1k streams', '× nginx cpu', 'p99 added ms'], rows(sse)))
  const nginxCpu = median(rate.cpu.nginx)
  const nginxP99 = median(added(rate.p99, 'nginx'))
  const sseNginx = median(added(sse.p99, 'nginx'))
  const recP99 = median(added(rate.p99, 'rec'))
  const recSse = median(added(sse.p99, 'rec'))
  const floorP99 = median(added(rate.p99, 'floor'))
  const floorSse = median(added(sse.p99, 'floor'))
  // each goal with hopwatch's figure and the floor's under it: a goal the floor misses too is out of reach for a proxy on Node.js
  const goals = [
    ['cpu-s per 1k requests, recording', `≤ 2 × nginx (${f(2 * nginxCpu, 3)})`, f(median(rate.cpu.rec), 3), goal(median(rate.cpu.rec) <= 2 * nginxCpu), f(median(rate.cpu.floor), 3), goal(median(rate.cpu.floor) <= 2 * nginxCpu)],
    ['p99 added at 1k req/s, recording', `≤ max(1 ms, 1.5 × nginx) (${f(Math.max(1, 1.5 * nginxP99))} ms)`, f(recP99), goal(recP99 <= Math.max(1, 1.5 * nginxP99)), f(floorP99), goal(floorP99 <= Math.max(1, 1.5 * nginxP99))],
    ['SSE first event, p99 added at 1,000 streams', `≤ 1.5 × nginx (${f(1.5 * Math.max(sseNginx, 0))} ms)`, f(recSse), goal(recSse <= 1.5 * Math.max(sseNginx, 0)), f(floorSse), goal(floorSse <= 1.5 * Math.max(sseNginx, 0))],
    ['saturation at 50 connections, recording', `≥ 0.5 × nginx (${f(0.5 * median(sat.nginx), 0)} rps)`, `${spread(sat.rec, 0)} rps`, goal(median(sat.rec) >= 0.5 * median(sat.nginx)), `${f(median(sat.floor), 0)} rps`, goal(median(sat.floor) >= 0.5 * median(sat.nginx))],
    ['idle RSS, no store loaded (as on a server store)', '≤ 150 MB', `${f(idle.none / 1e6, 0)} MB`, goal(idle.none / 1e6 <= 150), `${f(idle.nodeFloor / 1e6, 0)} MB`, goal(idle.nodeFloor / 1e6 <= 150)],
    ['idle RSS, embedded store', '≤ 250 MB', `${f(idle.embedded / 1e6, 0)} MB (${f(idle.embeddedAnon / 1e6, 0)} MB anonymous, the rest mapped code)`, goal(idle.embedded / 1e6 <= 250), `${f(idle.engineFloor / 1e6, 0)} MB (the engine opened, nothing else)`, goal(idle.engineFloor / 1e6 <= 250)],
  ]
  console.log(`\nGoals (nginx: saturation ${spread(sat.nginx, 0)} rps, hopwatch forwarding only ${spread(sat.bare, 0)}; idle RSS ${f(idle.nginx / 1e6, 0)} MB). The floor: the Node.js floor's figure for the same goal, and for the embedded store's RSS a Node.js process holding the opened engine and nothing else`)
  console.log(table(['goal', 'target', 'hopwatch (median)', '', 'the floor (median)', ''], goals))

  // each path against the floor, turn by turn: a p99 difference smaller than the spread of the repeats can be told from
  // noise only this way, and where the interval holds no difference the bench says so rather than name a winner.
  // Latencies are compared as differences (the same as the floor's: 0), throughput as ratios (the same: 1)
  const against = (m: Record<(typeof PATHS)[number][1], number[]>, key: (typeof PATHS)[number][1], how: 'less' | 'over') => {
    const same = how === 'less' ? 0 : 1
    const r = medianInterval(m[key].map((x, i) => (how === 'less' ? x - (m.floor[i] as number) : x / (m.floor[i] as number))))
    const verdict = r.coverage < 0.95 ? 'too few turns to tell' : r.low > same ? 'above the floor' : r.high < same ? 'below the floor' : 'cannot be told from the floor'
    return `${f(r.median)} (${f(r.low)} to ${f(r.high)}, ${f(r.coverage * 100, 1)} %): ${verdict}`
  }
  console.log(`\nTurn by turn against the Node.js floor: a path's figure in one turn against the floor's in the same slice (run back to back, in shuffled order), median and its distribution-free interval over ${rate.turns.floor.length} slices at ${RATE} req/s, ${sse.turns.floor.length} rounds of SSE and ${sat.floor.length} of saturation`)
  console.log(table(['path', `p99 at ${RATE} req/s, less the floor's (ms)`, 'SSE first event p99, less the floor\'s (ms)', 'saturation, over the floor\'s (×)'], PATHS.filter(([, key]) => key !== 'floor').map(([name, key]) => [name, against(rate.turns, key, 'less'), against(sse.turns, key, 'less'), against(sat, key, 'over')])))

  const final = await cpuOf(recording.proc)
  const stopped = await ask<{ written: number; dropped: number }>(recording.proc, 'stop')
  console.log(`rows: ${final.hops} hops recorded, ${stopped.written} written, ${stopped.dropped} dropped${stopped.written === final.hops ? '' : '  ✗ rows written ≠ hops'}; nginx logged ${await nginx.logLines()} requests`)
  bare.proc.send('stop')
  floor.proc.send('stop')
  upstream.proc.send('stop')
  await nginx.stop()
  await rm(dir, { recursive: true, force: true })
}

await main()
