import assert from 'node:assert/strict'
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
