import { WebSocket } from 'ws'

/** A ws client that records every message it gets, with a way to await the next ones. */
export class RecordingSocket {
  readonly messages: Array<{ data: Buffer; isBinary: boolean }> = []
  readonly socket: WebSocket
  closed: { code: number; reason: string } | undefined
  private waiters: Array<() => void> = []

  constructor(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}, protocols: string[] = []) {
    this.socket = new WebSocket(url, protocols, options)
    this.socket.on('message', (data: Buffer, isBinary) => {
      this.messages.push({ data, isBinary })
      this.wake()
    })
    this.socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() }
      this.wake()
    })
    this.socket.on('error', () => this.wake())
  }

  opened(): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve())
      this.socket.once('error', reject)
      this.socket.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)))
    })
  }

  async until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise<void>((r) => {
        this.waiters.push(r)
        setTimeout(r, 50)
      })
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }
}
