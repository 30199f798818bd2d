/**
 * 10,000 idle keep-alive connections and 1,000 slowloris clients against the proxy (issue 14, reliability): the
 * proxy keeps serving a normal caller, closes idle sockets on proxy.clients.keep_alive_ms and stalled ones on the
 * headers timeout, and its RSS and fds stay bounded. Prints the figures; `node dist/test/bench/idle-connections.bench.js`.
 */
import { connect, type Socket } from 'node:net'
import { readdir } from 'node:fs/promises'
import { table } from '../../src/cli/output.js'
import { startTestProxy } from '../support/proxy.js'
import { listenHttp } from '../support/servers.js'

const IDLE = Number(process.env.BENCH_IDLE ?? 10_000)
const SLOW = Number(process.env.BENCH_SLOW ?? 1_000)
const fds = async () => (await readdir('/proc/self/fd')).length
const rssMb = () => process.memoryUsage().rss / 1e6

const upstream = await listenHttp((req, res) => {
  req.resume()
  res.end('ok')
})
const proxy = await startTestProxy([{ name: 'api', component: 'backend', target: upstream.url, prefix: '/api' }], { clients: { keep_alive_ms: 5000, headers_timeout_ms: 3000, max_connections: 20_000 } })
const { hostname, port } = new URL(proxy.url)
// the proxy runs in this process: its fds and RSS are read before and during, the clients' sockets subtracted
const open = (): Promise<Socket> => new Promise((resolve, reject) => {
  const s = connect(Number(port), hostname, () => resolve(s))
  s.on('error', reject)
})
const timed = async () => {
  const t0 = performance.now()
  const res = await fetch(`${proxy.url}/api/x`)
  await res.text()
  return [res.status, performance.now() - t0] as const
}
const rows: string[][] = []
const before = { fds: await fds(), rss: rssMb(), call: await timed() }
rows.push(['at rest', '0', String(before.fds), before.rss.toFixed(0), `${before.call[0]} in ${before.call[1].toFixed(1)} ms`])

const idle: Socket[] = []
let closedByProxy = 0
for (let i = 0; i < IDLE; i++) {
  const s = await open()
  // one request, then idle on keep-alive
  s.write('GET /api/k HTTP/1.1\r\nHost: x\r\n\r\n')
  s.on('close', () => closedByProxy++)
  s.on('data', () => {})
  idle.push(s)
}
const slow: Socket[] = []
for (let i = 0; i < SLOW; i++) {
  const s = await open()
  s.write('GET /api/slow HTTP/1.1\r\nHost: x\r\nX-Slow: ')
  s.on('close', () => closedByProxy++)
  s.on('data', () => {})
  slow.push(s)
}
const during = { fds: await fds(), rss: rssMb(), call: await timed() }
// this process holds both ends of every connection: the proxy's own share is half the new fds
rows.push([`${IDLE} idle + ${SLOW} slowloris`, String(IDLE + SLOW), `${during.fds} (proxy ≈ ${before.fds + Math.round((during.fds - before.fds) / 2)})`, during.rss.toFixed(0), `${during.call[0]} in ${during.call[1].toFixed(1)} ms`])
await new Promise((r) => setTimeout(r, 7000))
const after = { fds: await fds(), rss: rssMb(), call: await timed() }
rows.push(['7 s later', String(closedByProxy), String(after.fds), after.rss.toFixed(0), `${after.call[0]} in ${after.call[1].toFixed(1)} ms`])
console.log(`idle and slow connections against the proxy (keep_alive_ms 5000, headers_timeout_ms 3000); RSS of this process (proxy + clients)`)
console.log(table(['state', 'connections (closed by the proxy)', 'fds', 'RSS MB', 'a normal call'], rows))
for (const s of [...idle, ...slow]) s.destroy()
await proxy.close()
await upstream.close()
