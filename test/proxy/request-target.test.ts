import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { checkRequestTarget, upstreamUrl } from '../../src/proxy/request-target.js'
import type { RunningProxy } from '../../src/proxy/index.js'
import { startTestProxy } from '../support/proxy.js'
import { listenHttp, listenWs, type Listening } from '../support/servers.js'

/** Sends raw bytes (what fetch cannot: absolute-form targets, "..", fragments) and returns the status line and body. */
function raw(url: string, request: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request))
    let text = ''
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(request.split('\r\n')[0])}`)))
    socket.on('data', (d) => {
      text += d.toString('latin1')
      // the proxy's refusals are complete JSON bodies: stop reading once one has arrived
      if (/\r\n\r\n\{.*\}\s*$/s.test(text)) socket.end()
    })
    socket.on('end', () => resolve({ status: Number(text.split(' ')[1]), text }))
    socket.on('close', () => resolve({ status: Number(text.split(' ')[1]), text }))
    socket.on('error', reject)
  })
}

const TRICKS = [
  'evil://x/p',
  'http://127.0.0.1:1/p',
  '//evil.example/p',
  '/a/../../etc/passwd',
  '/a/%2e%2e/%2E%2E/secret',
  '/./p',
  '/a%2f..%2fb',
  '/a%5c..%5cb',
  '/p#fragment',
  '/p\\..\\q',
]

test('only origin-form targets inside the base path pass; every trick is refused with its reason', () => {
  for (const t of TRICKS) {
    const check = checkRequestTarget(t)
    assert.equal(check.ok, false, t)
  }
  for (const t of ['/', '/v1/listen?model=nova-3&encoding=linear16', '/v1/chat/completions', '/a/..b/c.d/.e', '/files/report.2026.json']) assert.deepEqual(checkRequestTarget(t), { ok: true }, t)
  assert.equal(upstreamUrl('ws://127.0.0.1:9', '/base', '/v1/x?y=1').href, 'ws://127.0.0.1:9/base/v1/x?y=1')
  assert.throws(() => upstreamUrl('ws://127.0.0.1:9', '/base', '/../x'))
})

describe('the relay never leaves its configured upstream', () => {
  let upstream: Listening & { connections: number }
  let wsUpstream: Listening & { connections: number }
  let trap: Listening & { connections: number }
  let proxy: RunningProxy
  const counted = <T extends Listening>(l: T): T & { connections: number } => {
    const c = Object.assign(l, { connections: 0 })
    l.server.on('connection', () => c.connections++)
    return c
  }
  before(async () => {
    trap = counted(await listenHttp((_req, res) => res.end('trapped')))
    upstream = counted(await listenHttp((req, res) => res.end(`upstream saw ${req.url}`)))
    wsUpstream = counted(await listenWs((socket) => socket.close(1000)))
    proxy = await startTestProxy([
      { name: 'api', component: 'backend', target: `${upstream.url}/base`, prefix: '/api' },
      { name: 'api-own', component: 'backend', target: `${upstream.url}/base`, port: 0 },
      { name: 'live', component: 'stt', adapter: 'deepgram', target: `${wsUpstream.url}/base`, port: 0 },
    ])
  })
  after(async () => {
    await proxy.close()
    await Promise.all([trap.close(), upstream.close(), wsUpstream.close()])
  })

  test('HTTP on an upstream\'s own port: absolute-form, "//", "..", encoded traversal and fragments get 400 and no byte upstream', async () => {
    const own = proxy.upstreamUrls.get('api-own') as string
    for (const t of [...TRICKS, `http://127.0.0.1:${trap.port}/p`]) {
      const r = await raw(own, `GET ${t} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\nConnection: close\r\n\r\n`)
      // node's parser refuses some forms itself (400 too); either way nothing is forwarded
      assert.equal(r.status, 400, `${t}: ${r.text.slice(0, 200)}`)
    }
    assert.equal(upstream.connections, 0)
    assert.equal(trap.connections, 0)
  })

  test('HTTP under a prefix on the main port: the same tricks after the prefix get 400', async () => {
    for (const t of ['/api/../x', '/api/%2e%2e/x', '/api//evil.example/p', '/api/p#f', '/api/a%2fb']) {
      const r = await raw(proxy.url, `GET ${t} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      assert.equal(r.status, 400, `${t}: ${r.text.slice(0, 200)}`)
    }
    assert.equal(upstream.connections, 0)
  })

  test('a WebSocket upgrade with an absolute-form or traversing target is refused before the handshake, Authorization going nowhere', async () => {
    const own = proxy.upstreamUrls.get('live') as string
    for (const t of ['evil://x/p', `ws://127.0.0.1:${trap.port}/p`, '/../x', '/%2e%2e/x', '//evil.example/x', '/v1/listen#frag']) {
      const r = await raw(own, `GET ${t} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Token secret\r\n\r\n`)
      assert.equal(r.status, 400, `${t}: ${r.text.slice(0, 200)}`)
      assert.doesNotMatch(r.text, /101 Switching/)
    }
    assert.equal(wsUpstream.connections, 0)
    assert.equal(trap.connections, 0)
  })

  test('a plain path still reaches the upstream under its base path, and so does the prefix itself with a query', async () => {
    const res = await fetch(`${proxy.upstreamUrls.get('api-own')}/v1/ok?x=1`)
    assert.equal(await res.text(), 'upstream saw /base/v1/ok?x=1')
    const bare = await fetch(`${proxy.url}/api?x=2`)
    assert.equal(await bare.text(), 'upstream saw /base?x=2')
  })
})
