// The least a Node.js reverse proxy can do, in its own process: node:http takes the request, undici's Pool forwards it
// with the handler style hopwatch uses, and the answer streams back. No routing, hop, clock, header filtering, limits
// or recording: what forwarding costs on Node itself, the floor under hopwatch's own "no recording" figure.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool, type Dispatcher } from 'undici'
import { DEFAULTS } from '../../src/config/defaults.js'

const target = new URL(process.argv[2] as string)
// as many connections to the upstream as hopwatch opens, so neither queues streams behind the other's cap
const pool = new Pool(target.origin, { connections: DEFAULTS.proxy.connections_per_upstream, pipelining: 1 })

const server = createServer((req, res) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart() {},
    onResponseStart(_c, status, headers: IncomingHttpHeaders) {
      res.writeHead(status, headers)
    },
    onResponseData(c, chunk) {
      if (!res.write(chunk)) {
        c.pause()
        res.once('drain', () => c.resume())
      }
    },
    onResponseEnd() {
      res.end()
    },
    onResponseError() {
      if (!res.headersSent) res.writeHead(502)
      res.end()
    },
  }
  pool.dispatch({ path: (req.url ?? '/').replace(/^\/u/, '') || '/', method: req.method as Dispatcher.HttpMethod, headers: { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' }, body: hasBody ? req : null }, handler)
})
server.keepAliveTimeout = 60_000
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/u` }))
process.on('message', (m) => {
  if (m === 'cpu') {
    const cpu = process.cpuUsage()
    process.send?.({ cpuSeconds: (cpu.user + cpu.system) / 1e6, hops: 0, rssBytes: process.memoryUsage().rss })
  }
  if (m === 'stop') server.close(() => process.exit(0))
})
