import assert from 'node:assert/strict'
import { after, before, beforeEach, test } from 'node:test'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer } from 'ws'
import type { RunningProxy } from '../../src/proxy/index.js'
import { HopCollector } from '../support/hops.js'
import { startTestProxy } from '../support/proxy.js'
import { listenHttp, type Listening } from '../support/servers.js'

let upstream: Listening
let proxy: RunningProxy
let handshakes = 0
const hops = new HopCollector()

before(async () => {
  // a realtime-style upstream: a wrong key is refused with 401 and the provider's JSON error; a good one is greeted
  // at once with a message, before the caller has said anything
  const wss = new WebSocketServer({ noServer: true })
  upstream = await listenHttp((_req, res) => res.writeHead(426).end())
  upstream.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handshakes++
    if (req.headers.authorization !== 'Bearer good') {
      const body = JSON.stringify({ error: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided' } })
      socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\nx-request-id: req_123\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(JSON.stringify({ type: 'session.created' }))
      ws.on('message', (data) => ws.send(`echo ${String(data)}`))
    })
  })
  proxy = await startTestProxy([{ name: 'realtime', component: 's2s', adapter: 'http', target: upstream.url.replace('http:', 'ws:'), prefix: '/rt' }])
})
after(async () => {
  await proxy.close()
  await upstream.close()
  hops.dispose()
})
beforeEach(() => hops.clear())

const url = () => `${proxy.url.replace('http:', 'ws:')}/rt/v1/realtime`

test('an upstream that refuses the WebSocket handshake: the caller gets its status, headers and body, not an open socket closed 1014', async () => {
  const before = handshakes
  const socket = new WebSocket(url(), { headers: { authorization: 'Bearer wrong' } })
  const refusal = await new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
    socket.on('open', () => reject(new Error('the caller was let in although the upstream refused')))
    socket.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    socket.on('error', () => {})
  })
  assert.equal(refusal.status, 401)
  assert.equal(refusal.headers['x-request-id'], 'req_123')
  assert.equal(JSON.parse(refusal.body).error.code, 'invalid_api_key')
  assert.equal(handshakes, before + 1, 'one handshake upstream for one by the caller')
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.status, 401)
  assert.equal(hop!.error_kind, 'upstream_status')
  assert.equal(hop!.first_payload_us, 0)
})

test('an upstream that cannot be reached: the caller\'s handshake is answered 502 with the proxy\'s error code', async () => {
  const closed = await listenHttp(() => {})
  const port = closed.port
  await closed.close()
  const dead = await startTestProxy([{ name: 'dead', component: 's2s', adapter: 'http', target: `ws://127.0.0.1:${port}`, prefix: '/dead' }])
  try {
    const socket = new WebSocket(`${dead.url.replace('http:', 'ws:')}/dead/x`)
    const status = await new Promise<{ status: number; code: string | undefined }>((resolve) => {
      socket.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, code: res.headers['x-hopwatch-error'] as string | undefined }))
      socket.on('error', () => {})
    })
    assert.deepEqual(status, { status: 502, code: 'HW_PROXY_UPSTREAM_UNREACHABLE' })
    const [hop] = await hops.waitFor(1)
    assert.equal(hop!.error_kind, 'connect')
  } finally {
    await dead.close()
  }
})

test('an upstream that speaks first: its greeting reaches the caller, before the caller\'s own messages are answered', async () => {
  const socket = new WebSocket(url(), { headers: { authorization: 'Bearer good' } })
  const messages: string[] = []
  socket.on('message', (data) => messages.push(String(data)))
  await new Promise((r) => socket.once('open', r))
  socket.send('hello')
  const deadline = Date.now() + 5000
  while (messages.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  assert.deepEqual(messages, ['{"type":"session.created"}', 'echo hello'])
  socket.close()
  await hops.waitFor(1)
})
