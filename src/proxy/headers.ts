import { randomBytes } from 'node:crypto'
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'

/** Hop-by-hop headers (RFC 9110 §7.6.1) and those the proxy sets itself; never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'])
/** host is the upstream's, set by the client library; expect: 100-continue is answered by the proxy's server. */
const REQUEST_ONLY = new Set(['host', 'expect'])
/** The WebSocket handshake is negotiated separately on each side. */
const WS_HANDSHAKE = new Set(['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol', 'sec-websocket-accept'])

function isOwn(name: string): boolean {
  return name.length > 11 && name.startsWith('x-hopwatch-')
}

function listedInConnection(connection: string | undefined): Set<string> | undefined {
  // the usual values name no header: skip the split on every keep-alive request
  if (connection === undefined || connection === 'keep-alive' || connection === 'close' || connection === 'Keep-Alive') return undefined
  const names = connection.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s !== 'close' && s !== 'keep-alive' && s !== 'upgrade')
  return names.length > 0 ? new Set(names) : undefined
}

/** The caller's headers as the upstream should get them, as a flat [name, value, …] list (raw case kept). */
/**
 * This proxy process's name in Via (RFC 9110 §7.6.3), with the upstream a request was forwarded to: a request that
 * arrives for that same upstream already carrying it has come round a loop (an upstream that is this proxy, or
 * proxies pointing at each other) and is refused. Passing through for another upstream is no loop: a router behind
 * the proxy calls its models through the same proxy.
 */
export const PROXY_VIA = `hopwatch-${randomBytes(6).toString('hex')}`

const viaFor = (upstream: string) => `${PROXY_VIA}.${upstream.replace(/[^A-Za-z0-9_-]/g, '_')}`

/** Whether a request for this upstream has passed through this proxy to it before. */
export function cameThroughHere(via: string | string[] | undefined, upstream: string): boolean {
  if (via === undefined) return false
  const token = viaFor(upstream)
  return (Array.isArray(via) ? via.join(',') : via).split(',').some((hop) => hop.trim().split(/\s+/)[1] === token)
}

export function requestHeadersToForward(rawHeaders: readonly string[], connection: string | undefined, upstream: string, websocket = false): string[] {
  const listed = listedInConnection(connection)
  const out: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower) || REQUEST_ONLY.has(lower) || isOwn(lower) || listed?.has(lower) === true) continue
    if (websocket && WS_HANDSHAKE.has(lower)) continue
    out.push(name, rawHeaders[i + 1] as string)
  }
  out.push('via', `1.1 ${viaFor(upstream)}`)
  return out
}

/** The upstream's response headers as the caller should get them. */
export function responseHeadersToForward(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = listedInConnection(typeof headers.connection === 'string' ? headers.connection : undefined)
  const out: OutgoingHttpHeaders = {}
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || listed?.has(name) === true) continue
    out[name] = headers[name]
  }
  return out
}

/** As a plain object, for the WebSocket client library. */
export function headerObject(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i] as string
    const value = flat[i + 1] as string
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`
  }
  return out
}
