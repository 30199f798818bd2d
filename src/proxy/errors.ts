import type { ServerResponse } from 'node:http'
import { HopwatchError, type ErrorCodeDoc } from '../errors.js'

export const PROXY_ERRORS = {
  HW_PROXY_NO_ROUTE: { meaning: 'no configured upstream serves this path (404); nothing was forwarded', fix: 'call the proxy at an upstream prefix from hopwatch.yaml (e.g. /llm/v1/chat/completions), or add an upstream for it' },
  HW_PROXY_BODY_TOO_LARGE: { meaning: 'the request body is larger than proxy.max_body_bytes (413)', fix: 'send a smaller body, or raise proxy.max_body_bytes' },
  HW_PROXY_UPSTREAM_UNREACHABLE: { meaning: 'the upstream refused or could not take the connection (502)', fix: 'check that the upstream target in hopwatch.yaml is running and reachable from the proxy' },
  HW_PROXY_UPSTREAM_TIMEOUT: { meaning: 'the upstream did not connect, answer or keep streaming within the configured timeouts (504)', fix: 'look at the upstream, or raise proxy.timeouts / upstreams[i].timeouts' },
  HW_PROXY_CLIENT_TIMEOUT: { meaning: 'the caller paused in the middle of its request body for longer than proxy.clients.body_idle_ms (408); the upstream request was cancelled', fix: 'send the body without long pauses, or raise proxy.clients.body_idle_ms' },
  HW_PROXY_CLIENT_LIMIT: { meaning: 'this client address already holds proxy.clients.max_connections_per_client connections to the proxy (503); nothing was forwarded and the connection is closed', fix: 'reuse connections (keep-alive, a pool) or raise proxy.clients.max_connections_per_client' },
  HW_PROXY_UPSTREAM_RESET: { meaning: 'the upstream closed the connection before its response was complete (502)', fix: 'look at the upstream: it crashed, restarted, or dropped the connection' },
  HW_PROXY_ADMIN_FORBIDDEN: { meaning: 'the admin API (/_hopwatch/*) only answers loopback callers (403)', fix: 'call it from the proxy host, or set proxy.admin_remote: true (the token is still required)' },
  HW_PROXY_ADMIN_CROSS_SITE: { meaning: 'a request to the admin API came from a web page (Origin or Sec-Fetch-Site: cross-site) (403)', fix: 'call the admin API from hopwatch or a script, not from a browser' },
  HW_PROXY_ADMIN_TOKEN: { meaning: 'a request to the admin API lacked the right bearer token (401)', fix: 'send Authorization: Bearer <token>; the token is admin_token in the store directory\'s hopwatch-owner.json (mode 0600)' },
  HW_PROXY_ADMIN_READ_ONLY: { meaning: 'the admin API runs one read-only statement that stays inside the store (400)', fix: 'send a single SELECT, WITH, SHOW, DESCRIBE, EXISTS or EXPLAIN without INTO OUTFILE, FORMAT, SETTINGS or table functions such as file(), url(), remote()' },
  HW_PROXY_ADMIN_NO_STORE: { meaning: 'this proxy runs without a store, so it cannot answer SQL (503)', fix: 'start the proxy with a store (the default) or query the ClickHouse server directly' },
  HW_PROXY_BAD_TARGET: { meaning: 'the request target is not a plain "/path?query" inside the upstream (an absolute URL, "//", a fragment, "..", encoded slashes) (400); nothing was forwarded', fix: 'send an origin-form path under the upstream\'s prefix or port' },
  HW_PROXY_BAD_REQUEST: { meaning: 'the request could not be understood (400)', fix: 'read the message; for /_hopwatch/sql, send {"sql": "…"} as application/json' },
  HW_PROXY_LOOP: { meaning: 'an upstream leads back to this proxy (its target is one of the proxy\'s own ports, or a request arrived carrying this proxy\'s Via) (508, or at start)', fix: 'point the upstream at the real service, not at the proxy or a proxy in front of it' },
  HW_PROXY_LISTEN: { meaning: 'the proxy could not listen on a configured port', fix: 'pick a free port (proxy.port, upstreams[i].port) or stop what is using it' },
} as const satisfies Record<string, ErrorCodeDoc>

export type ProxyErrorCode = keyof typeof PROXY_ERRORS

export class ProxyError extends HopwatchError<ProxyErrorCode> {}

/**
 * Answers with the proxy's own error in the OpenAI error shape, which provider SDKs surface as a readable message;
 * `x-hopwatch-error` tells it apart from an upstream's own error.
 */
export function sendProxyError(res: ServerResponse, status: number, code: ProxyErrorCode, message: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy()
    return
  }
  const body = JSON.stringify(proxyErrorBody(code, message))
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-hopwatch-error': code })
  res.end(body)
}

/** The JSON body of the proxy's own errors. */
export function proxyErrorBody(code: ProxyErrorCode, message: string): { error: { type: string; code: ProxyErrorCode; message: string } } {
  return { error: { type: 'hopwatch_proxy_error', code, message } }
}
