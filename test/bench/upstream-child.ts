// The benchmark's upstream, in its own process: a small JSON answer on /plain, an SSE stream on /sse whose first event
// comes after FIRST_EVENT_MS and five more after it.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'

const FIRST_EVENT_MS = 20
const EVENT_GAP_MS = 10
const body = JSON.stringify({ id: 'x', ok: true, items: [1, 2, 3] })

const server = createServer((req, res) => {
  if (req.url?.startsWith('/sse') === true) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    let sent = 0
    const next = () => {
      res.write(`data: {"choices":[{"delta":{"content":"tok${sent}"}}]}\n\n`)
      if (++sent < 6) setTimeout(next, EVENT_GAP_MS)
      else res.end('data: [DONE]\n\n')
    }
    setTimeout(next, FIRST_EVENT_MS)
    return
  }
  req.resume()
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
})
// /ws: every message is echoed back (the soak's WebSocket traffic)
const wss = new WebSocketServer({ server, path: '/ws' })
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })))
server.keepAliveTimeout = 60_000
server.maxConnections = 10_000
// the accept queue nginx and the proxy have: 1,000 callers connecting at once overflow Node's 511, and the baseline with them
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.send?.({ port: (server.address() as AddressInfo).port }))
process.on('message', (m) => {
  if (m === 'stop') server.close(() => process.exit(0))
})
