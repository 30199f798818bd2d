import { Agent, request } from 'undici'
import { failureOf, TurnFailure } from './failure.js'

/**
 * One connection pool for every simulated caller: keep-alive connections per origin, bounded, so thousands of
 * callers reuse sockets the way an agent's HTTP clients do.
 */
export function callerAgent(connectionsPerOrigin: number): Agent {
  return new Agent({ connections: connectionsPerOrigin, keepAliveTimeout: 30_000, headersTimeout: 120_000, bodyTimeout: 120_000 })
}

export interface CallOptions {
  agent: Agent
  method: 'GET' | 'POST'
  headers: Record<string, string>
  body?: string | Buffer
  signal: AbortSignal
  component: TurnFailure['component']
}

/** A request whose body is read chunk by chunk by `onChunk`; a status ≥ 400 or a socket error is a TurnFailure. */
export async function call(url: string, options: CallOptions, onChunk: (chunk: Buffer) => void): Promise<void> {
  let status: number | undefined
  try {
    const res = await request(url, { dispatcher: options.agent, method: options.method, headers: options.headers, body: options.body ?? null, signal: options.signal })
    status = res.statusCode
    if (status >= 400) {
      await res.body.dump()
      throw failureOf(options.component, undefined, status)
    }
    for await (const chunk of res.body as AsyncIterable<Buffer>) onChunk(chunk)
  } catch (err) {
    if (options.signal.aborted) throw err
    throw failureOf(options.component, err, status !== undefined && status >= 400 ? status : undefined)
  }
}
