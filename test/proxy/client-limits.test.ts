import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { after, before, test } from 'node:test'
import type { RunningProxy } from '../../src/proxy/index.js'
import { startTestProxy } from '../support/proxy.js'
import { listenHttp, type Listening } from '../support/servers.js'

let upstream: Listening
let proxy: RunningProxy
before(async () => {
  upstream = await listenHttp((_req, res) => res.end('ok'))
  proxy = await startTestProxy([{ name: 'api', component: 'backend', target: upstream.url, prefix: '/api' }], { clients: { headers_timeout_ms: 1000, request_timeout_ms: 2000, keep_alive_ms: 500 } })
})
after(async () => {
  await proxy.close()
  await upstream.close()
})

function open(): Promise<Socket> {
  const { hostname, port } = new URL(proxy.url)
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname, () => resolve(s))
    s.on('error', reject)
  })
}

/** Resolves with what the proxy sent when it closed the socket (the test's own timeout bounds the wait). */
const closedByProxy = (s: Socket) => new Promise<string>((resolve) => {
  let text = ''
  s.on('data', (d) => (text += d.toString('latin1')))
  s.on('close', () => resolve(text))
})

test('a slowloris client that never finishes its headers is answered 408 and closed, and others are served meanwhile', { timeout: 20_000 }, async () => {
  const slow = await open()
  const closed = closedByProxy(slow)
  slow.write('GET /api/x HTTP/1.1\r\nHost: x\r\nX-Slow: ')
  assert.equal(await (await fetch(`${proxy.url}/api/y`)).text(), 'ok')
  assert.match(await closed, /^HTTP\/1\.1 408/)
})

test('a client that sends its headers but never its body is closed at the request deadline', { timeout: 20_000 }, async () => {
  const slow = await open()
  const closed = closedByProxy(slow)
  slow.write('POST /api/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc')
  await closed
})

test('an idle keep-alive connection is closed after proxy.clients.keep_alive_ms', { timeout: 20_000 }, async () => {
  const s = await open()
  const closed = closedByProxy(s)
  s.write('GET /api/z HTTP/1.1\r\nHost: x\r\n\r\n')
  assert.match(await closed, /^HTTP\/1\.1 200[^]*\r\n\r\nok$/)
})

/** A proxy with one pooled upstream connection, a short body pause limit and two connections per client. */
async function strictProxy(): Promise<{ proxy: RunningProxy; upstream: Listening; seen: string[] }> {
  const seen: string[] = []
  // the upstream reads each body whole before answering, as an API does; a slow one holds its connection meanwhile
  const upstream = await listenHttp((req, res) => {
    seen.push(req.url ?? '')
    const pause = req.url === '/slow-reader' ? 1000 : 0
    if (pause > 0) req.pause()
    setTimeout(() => req.resume(), pause)
    let bytes = 0
    req.on('data', (c: Buffer) => (bytes += c.length))
    req.on('end', () => res.end(String(bytes)))
    req.on('error', () => {})
  })
  const proxy = await startTestProxy([{ name: 'api', component: 'backend', target: upstream.url, prefix: '/api' }], {
    connections_per_upstream: 1,
    max_body_bytes: 256 * 1024 * 1024,
    clients: { body_idle_ms: 300, request_timeout_ms: 20_000, max_connections_per_client: 2 },
  })
  return { proxy, upstream, seen }
}

test('a client that pauses inside its body past proxy.clients.body_idle_ms gets 408, its upstream request is cancelled, and the pooled connection serves others', { timeout: 20_000 }, async () => {
  const { proxy: strict, upstream: api } = await strictProxy()
  try {
    const { hostname, port } = new URL(strict.url)
    const slow = await new Promise<Socket>((resolve) => { const s = connect(Number(port), hostname, () => resolve(s)) })
    const closed = closedByProxy(slow)
    slow.write('POST /api/held HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc')
    const answer = await closed
    assert.match(answer, /^HTTP\/1\.1 408[^]*HW_PROXY_CLIENT_TIMEOUT[^]*body_idle_ms/)
    // the upstream's only pooled connection is free again: a normal request is served
    const res = await fetch(`${strict.url}/api/next`, { method: 'POST', body: 'hello' })
    assert.deepEqual([res.status, await res.text()], [200, '5'])
  } finally {
    await strict.close()
    await api.close()
  }
})

test('time the upstream takes to read a body is not the client\'s pause: a large body to a slow-reading upstream goes through whole', { timeout: 30_000 }, async () => {
  const { proxy: strict, upstream: api } = await strictProxy()
  try {
    const body = Buffer.alloc(64 * 1024 * 1024, 7)
    const res = await fetch(`${strict.url}/api/slow-reader`, { method: 'POST', body })
    assert.deepEqual([res.status, await res.text()], [200, String(body.length)])
  } finally {
    await strict.close()
    await api.close()
  }
})

test('a client past proxy.clients.max_connections_per_client is answered 503 and closed, for HTTP and WebSocket alike; a freed slot is usable again', { timeout: 20_000 }, async () => {
  const { proxy: strict, upstream: api, seen } = await strictProxy()
  const { hostname, port } = new URL(strict.url)
  const dial = () => new Promise<Socket>((resolve) => { const s = connect(Number(port), hostname, () => resolve(s)) })
  try {
    const held = [await dial(), await dial()]
    const third = await dial()
    const closed = closedByProxy(third)
    third.write('GET /api/third HTTP/1.1\r\nHost: x\r\n\r\n')
    assert.match(await closed, /^HTTP\/1\.1 503[^]*HW_PROXY_CLIENT_LIMIT[^]*max_connections_per_client/)
    const upgrade = await dial()
    const upgraded = closedByProxy(upgrade)
    upgrade.write('GET /api/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
    assert.match(await upgraded, /^HTTP\/1\.1 503[^]*HW_PROXY_CLIENT_LIMIT/)
    assert.deepEqual(seen, [], 'a refused request reached the upstream')
    // a held connection still works, and once one closes a new one is served
    const first = held[0]!
    const answered = closedByProxy(first)
    first.write('GET /api/held HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    assert.match(await answered, /^HTTP\/1\.1 200/)
    const again = await dial()
    const served = closedByProxy(again)
    again.write('GET /api/again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    assert.match(await served, /^HTTP\/1\.1 200/)
    held[1]!.destroy()
  } finally {
    await strict.close()
    await api.close()
  }
})

/** The accept queue of the listening socket on `port`, as the kernel holds it (ss's Send-Q of a LISTEN socket). */
function acceptQueueOf(port: number): number {
  const line = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' }).trim()
  return Number(line.split(/\s+/)[2])
}

test('every listener accepts a burst of callers connecting at once: its accept queue is proxy.clients.listen_backlog, not Node\'s 511', async () => {
  // 511 overflowed when 1,000 callers connected at once: the kernel dropped their handshakes and each one waited for a
  // SYN retry, a second or more, which the hops then wrongly counted as the proxy's own delay
  const own = await startTestProxy([{ name: 'api', component: 'backend', target: upstream.url, prefix: '/api' }, { name: 'tts', component: 'tts', target: upstream.url, port: 0 }], { clients: { listen_backlog: 3000 } })
  try {
    assert.equal(acceptQueueOf(Number(new URL(own.url).port)), Math.min(3000, somaxconn()))
    assert.equal(acceptQueueOf(Number(new URL(own.upstreamUrls.get('tts') as string).port)), Math.min(3000, somaxconn()))
  } finally {
    await own.close()
  }
  assert.equal(acceptQueueOf(Number(new URL(proxy.url).port)), Math.min(4096, somaxconn()), 'the default')
})

const somaxconn = () => Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'))
