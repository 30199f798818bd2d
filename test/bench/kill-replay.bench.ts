/**
 * The proxy SIGKILLed in the middle of a spill replay and started again (issue 14, store faults): rows spilled vs rows
 * stored, duplicates and losses, over TRIALS kills at spread-out moments. `node dist/test/bench/kill-replay.bench.js`.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { table } from '../../src/cli/output.js'
import { hopRow } from '../support/rows.js'

const N = Number(process.env.BENCH_ROWS ?? 200_000)
const KILLS_MS = (process.env.BENCH_KILLS_MS ?? '600,1200,1800,2400,3000').split(',').map(Number)
const BIN = fileURLToPath(new URL('../../../bin/hopwatch.js', import.meta.url))

function start(cwd: string, args: string[]): { out: () => string; exited: Promise<number | string>; kill: (s: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  return { out: () => out, exited: new Promise((r) => child.once('exit', (c, s) => r(c ?? String(s)))), kill: (s) => child.kill(s) }
}
const until = async (ok: () => boolean, ms = 60_000) => {
  for (const end = Date.now() + ms; !ok() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20))
}

const rows: string[][] = []
for (const killMs of KILLS_MS) {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-kill-'))
  await mkdir(join(dir, 'data', 'spill'), { recursive: true })
  await writeFile(join(dir, 'hopwatch.yaml'), 'proxy: { port: 0 }\nstore: { dir: ./data }\nalerts: { sinks: { log: false } }\nresources: { self: false }\nupstreams:\n  - { name: api, component: backend, target: "http://127.0.0.1:9", prefix: /api }\n')
  await writeFile(join(dir, 'data', 'spill', 'hops.jsonl'), `${Array.from({ length: N }, (_, i) => JSON.stringify(hopRow(i, { run_id: 'killed' }))).join('\n')}\n`)
  const first = start(dir, ['proxy'])
  await until(() => /listening on/.test(first.out()))
  await new Promise((r) => setTimeout(r, killMs))
  const offset = await readFile(join(dir, 'data', 'spill', 'hops.replaying.jsonl.offset'), 'utf8').catch(() => '-')
  first.kill('SIGKILL')
  await first.exited
  const second = start(dir, ['proxy'])
  await until(() => /listening on/.test(second.out()))
  await until(() => !existsSync(join(dir, 'data', 'spill', 'hops.replaying.jsonl')) && !existsSync(join(dir, 'data', 'spill', 'hops.jsonl')))
  second.kill('SIGTERM')
  const code = await second.exited
  const q = start(dir, ['sql', "SELECT count() AS n, uniqExact(hop_id) AS ids FROM hopwatch.hops WHERE run_id = 'killed'"])
  await q.exited
  const { n, ids } = JSON.parse(q.out()) as { n: number; ids: number }
  rows.push([String(killMs), offset, String(N), String(n), String(n - ids), String(N - ids), String(code)])
  await rm(dir, { recursive: true, force: true })
}
console.log(`the proxy SIGKILLed mid-replay of ${N} spilled hops, then started again and stopped once the replay ended`)
console.log(table(['killed after ms', 'replay offset (bytes)', 'spilled', 'stored', 'duplicates', 'lost', 'second exit'], rows))
