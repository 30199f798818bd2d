import { connect } from 'node:net'
import type { UpstreamConfig } from '../config/index.js'
import { addressOf } from './upstream.js'

/**
 * Whether each upstream's target takes a TCP connection, checked once at start: a warning per one that does not
 * (its name, target and the reason), never a failure, since a service may come up after the proxy.
 */
export async function unreachableUpstreams(upstreams: ReadonlyArray<Pick<UpstreamConfig, 'name' | 'target'>>, timeoutMs = 3000): Promise<string[]> {
  const checks = upstreams.map(async (u) => {
    const { target, hostname, port } = addressOf(u.target)
    const reason = await new Promise<string | undefined>((resolve) => {
      const socket = connect({ host: hostname, port })
      const done = (why: string | undefined) => {
        clearTimeout(timer)
        socket.destroy()
        resolve(why)
      }
      const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs)
      socket.once('connect', () => done(undefined))
      socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message))
    })
    return reason === undefined ? undefined : `upstream ${u.name} (${target.origin}) is not reachable: ${reason}; its callers get 502 until it is`
  })
  return (await Promise.all(checks)).filter((w): w is string => w !== undefined)
}
