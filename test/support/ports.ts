import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * The first port the kernel hands out by itself (to a listener on port 0, or as the local end of an outgoing
 * connection): ports below it are never taken from under a server told to use one.
 */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(first) && first > 2048 ? first : 32_768
  } catch {
    return 32_768
  }
}

const BELOW = ephemeralStart()
/** the range ports are drawn from: at most 12,000 ports under the kernel's own */
const FROM = Math.max(1024, BELOW - 12_000)

function listens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A TCP port that was free on 127.0.0.1 a moment ago (for servers that cannot be told to use port 0), drawn below
 * the kernel's ephemeral range. A port from that range could be taken before the server binds it: by another test's
 * listener on port 0, or as the local port of any outgoing connection (the load tests open thousands). Then a
 * ClickHouse server exited with "Address already in use" and its start-up check asked whoever held the port.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = FROM + Math.floor(Math.random() * (BELOW - FROM))
    if (await listens(port)) return port
  }
  throw new Error(`no free port between ${FROM} and ${BELOW - 1} in 100 tries`)
}
