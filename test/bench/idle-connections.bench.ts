/**
 * 10,000 idle keep-alive connections and 1,000 slowloris clients against the proxy (issue 14, reliability): the
 * proxy, in a process of its own, keeps serving a normal caller, closes idle sockets on proxy.clients.keep_alive_ms
 * and stalled ones on the headers timeout, and its RSS and fds stay bounded. `node dist/test/bench/idle-connections.bench.js`.
 */
import { connect, type Socket } from 'node:net'
import { readdir } from 'node:fs/promises'
import { table } from '../../src/cli/output.js'
import { ask, child } from './load.js'

const IDLE = Number(process.env.BENCH_IDLE ?? 10_000)
const SLOW = Number(process.env.BENCH_SLOW ?? 1_000)

const upstream = await child<{ port: number }>('upstream-child.js', [])
// keep-alive 5 s and headers 3 s for this measurement (the defaults are 72 s and 30 s)
const proxy = await child<{ url: string }>('proxy-child.js', [`http://127.0.0.1:${upstream.ready.port}`, 'none'], { HOPWATCH_BENCH_CLIENTS: JSON.stringify({ keep_alive_ms: 5000, headers_timeout_ms: 3000 }) })
const base = new URL(proxy.ready.url)
const fds = async () => (await readdir(`/proc/${proxy.proc.pid}/fd`)).length
const rssMb = async () => (await ask<{ rssBytes: number }>(proxy.proc, 'cpu')).rssBytes / 1e6
const open = (): Promise<Socket> => new Promise((resolve, reject) => {
  const s = connect(Number(base.port), base.hostname, () => resolve(s))
  s.on('error', reject)
})
const timed = async () => {
  const t0 = performance.now()
  const res = await fetch(`${proxy.ready.url}/plain`)
  await res.text()
  return `${res.status} in ${(performance.now() - t0).toFixed(1)} ms`
}
const rows: string[][] = [['at rest', '-', String(await fds()), (await rssMb()).toFixed(0), await timed()]]
let closedByProxy = 0
const held: Socket[] = []
for (let i = 0; i < IDLE; i++) {
  const s = await open()
  s.write(`GET ${base.pathname}/plain HTTP/1.1\r\nHost: x\r\n\r\n`) // one request, then idle on keep-alive
  s.on('data', () => {})
  s.on('close', () => closedByProxy++)
  held.push(s)
}
for (let i = 0; i < SLOW; i++) {
  const s = await open()
  s.write(`GET ${base.pathname}/plain HTTP/1.1\r\nHost: x\r\nX-Slow: `) // headers never finished
  s.on('data', () => {})
  s.on('close', () => closedByProxy++)
  held.push(s)
}
rows.push([`${IDLE} idle + ${SLOW} slowloris open`, String(closedByProxy), String(await fds()), (await rssMb()).toFixed(0), await timed()])
await new Promise((r) => setTimeout(r, 8000))
rows.push(['8 s later', String(closedByProxy), String(await fds()), (await rssMb()).toFixed(0), await timed()])
console.log(`idle and slowloris connections against the proxy (keep_alive_ms 5000, headers_timeout_ms 3000), the proxy's own fds and RSS`)
console.log(table(['state', 'closed by the proxy', 'proxy fds', 'proxy RSS MB', 'a normal call'], rows))
for (const s of held) s.destroy()
proxy.proc.send('stop')
upstream.proc.send('stop')
