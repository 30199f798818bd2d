// The simulator benchmark's baseline, in its own process: the same transports with no model behind them. A live
// WebSocket that counts binary frames and answers a Finalize with one JSON result at once, and an SSE endpoint that
// streams the same number of token chunks at the same pace as the simulated LLM, with no queue, no tokenizer, no
// faults. The simulator's cost is what it spends beyond this.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'

const TOKENS = Number(process.env.BENCH_TOKENS ?? 20)
const TOKEN_MS = Number(process.env.BENCH_TOKEN_MS ?? 20)

const server = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    let sent = 0
    const next = () => {
      res.write(`data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" word${sent}"},"finish_reason":null}]}\n\n`)
      if (++sent < TOKENS) setTimeout(next, TOKEN_MS)
      else res.end('data: [DONE]\n\n')
    }
    next()
  })
})
const wss = new WebSocketServer({ server, perMessageDeflate: false })
wss.on('connection', (ws) => {
  let frames = 0
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary) frames++
    else if (data.toString().includes('Finalize')) ws.send(JSON.stringify({ type: 'Results', is_final: true, frames, channel: { alternatives: [{ transcript: 'ok' }] } }))
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port, pid: process.pid }))
process.on('message', (m) => {
  if (m === 'stop') process.exit(0)
})
