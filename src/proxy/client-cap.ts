import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/**
 * Connections at once per client address, across every listener of the proxy, so one client cannot hold them all
 * (`proxy.clients.max_connections_per_client`; 0: no cap). A connection past the cap is still accepted, and each
 * request on it is answered 503 (HW_PROXY_CLIENT_LIMIT) and the connection closed: the client reads why, and
 * nothing is forwarded.
 */
export class ClientConnections {
  private readonly open = new Map<string, number>()
  private readonly over = new WeakSet<Socket>()

  constructor(readonly max: number) {}

  attach(server: Server): void {
    if (this.max <= 0) return
    server.on('connection', (socket: Socket) => {
      const address = socket.remoteAddress ?? ''
      const n = (this.open.get(address) ?? 0) + 1
      if (n > this.max) {
        this.over.add(socket)
        return
      }
      this.open.set(address, n)
      socket.once('close', () => {
        const left = (this.open.get(address) ?? 1) - 1
        if (left <= 0) this.open.delete(address)
        else this.open.set(address, left)
      })
    })
  }

  /** True when the socket is one past its client's cap. */
  refuses(socket: Socket): boolean {
    return this.max > 0 && this.over.has(socket)
  }
}
