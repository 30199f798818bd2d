import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'

export interface Listening {
  url: string
  port: number
  server: Server
  close(): Promise<void>
}

/** A plain node:http server on a free 127.0.0.1 port. */
export async function listenHttp(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listening> {
  const server = createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** A ws server on a free port; `onConnection` gets each accepted socket and its upgrade request. */
export async function listenWs(onConnection: (socket: WebSocket, req: IncomingMessage) => void): Promise<Listening & { wss: WebSocketServer }> {
  const http = await listenHttp((_req, res) => {
    res.writeHead(426)
    res.end()
  })
  const wss = new WebSocketServer({ server: http.server })
  wss.on('connection', onConnection)
  return {
    ...http,
    url: http.url.replace('http:', 'ws:'),
    wss,
    close: async () => {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((r) => wss.close(() => r()))
      await http.close()
    },
  }
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk)
  return Buffer.concat(chunks)
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
