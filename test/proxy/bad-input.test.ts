import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, beforeEach, test } from 'node:test'
import type { RunningProxy } from '../../src/proxy/index.js'
import { HopCollector } from '../support/hops.js'
import { openaiProvider } from '../support/providers.js'
import { startTestProxy } from '../support/proxy.js'
import { listenHttp, listenWs, readBody, sleep, type Listening } from '../support/servers.js'
import { RecordingSocket } from '../support/ws-client.js'

let llm: Awaited<ReturnType<typeof openaiProvider>>
let backend: Listening
let echo: Listening & { wss: unknown }
let quitter: Listening & { wss: unknown }
let proxy: RunningProxy
const hops = new HopCollector()
let backendRequests = 0
let abortedUpstream = 0

before(async () => {
  llm = await openaiProvider()
  backend = await listenHttp((req, res) => {
    backendRequests++
    const path = req.url ?? ''
    if (path === '/reset') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('partial')
      setTimeout(() => res.socket?.destroy(), 20)
      return
    }
    if (path === '/hang') return // never answers
    if (path === '/slow-stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const timer = setInterval(() => res.write('data: tick\n\n'), 20)
      res.on('close', () => {
        clearInterval(timer)
        abortedUpstream++
      })
      return
    }
    readBody(req).then(
      (body) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' })
        res.end(body)
      },
      () => res.destroy(), // the proxy cut the request off (body over the limit)
    )
  })
  echo = await listenWs((socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })))
  quitter = await listenWs((socket) => socket.on('message', () => socket.close(1000, 'bye')))
  proxy = await startTestProxy(
    [
      { name: 'llm', component: 'llm', adapter: 'openai', target: llm.url, prefix: '/llm' },
      { name: 'api', component: 'backend', target: backend.url, prefix: '/api', timeouts: { connect_ms: 1000, headers_ms: 300, idle_ms: 300 } },
      { name: 'down', component: 'backend', target: 'http://127.0.0.1:9', prefix: '/down' },
      { name: 'echo', component: 's2s', target: echo.url, prefix: '/echo' },
      { name: 'quitter', component: 's2s', target: quitter.url, prefix: '/quitter' },
    ],
    { max_body_bytes: 64 * 1024, max_frame_bytes: 64 * 1024 },
  )
})
after(async () => {
  await proxy.close()
  await Promise.all([llm.close(), backend.close(), echo.close(), quitter.close()])
  hops.dispose()
})
beforeEach(() => {
  hops.clear()
  backendRequests = 0
})

/** The proxy still serves a normal request: the check after every bad input. */
async function stillServes(): Promise<void> {
  const res = await fetch(`${proxy.url}/api/echo`, { method: 'POST', body: 'still here' })
  assert.equal(await res.text(), 'still here')
}

test('an unknown route gets a 404 with a code and where each upstream is reachable, and nothing is forwarded', async () => {
  for (const path of ['/nope', '/apix/echo', '/']) {
    const res = await fetch(`${proxy.url}${path}`, { method: 'POST', body: 'x' })
    assert.equal(res.status, 404, path)
    assert.equal(res.headers.get('x-hopwatch-error'), 'HW_PROXY_NO_ROUTE')
    const body = (await res.json()) as { error: { code: string; message: string } }
    assert.equal(body.error.code, 'HW_PROXY_NO_ROUTE')
    assert.match(body.error.message, /; the upstreams are llm at \/llm\/…, api at \/api\/…, down at \/down\/…/)
  }
  assert.equal(backendRequests, 0)
  assert.equal(hops.hops.length, 0)
})

test('an unknown WebSocket path is refused at the handshake', async () => {
  const client = new RecordingSocket(`${proxy.url.replace('http:', 'ws:')}/nowhere`)
  await assert.rejects(client.opened(), /unexpected response 404/)
})

test('a body over the limit gets a 413 before anything is forwarded (declared length)', async () => {
  const res = await fetch(`${proxy.url}/api/echo`, { method: 'POST', body: Buffer.alloc(100 * 1024) })
  assert.equal(res.status, 413)
  assert.equal(res.headers.get('x-hopwatch-error'), 'HW_PROXY_BODY_TOO_LARGE')
  assert.equal(backendRequests, 0)
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.error_kind, 'too_large')
  await stillServes()
})

test('a chunked body that grows over the limit is cut off and answered 413', async () => {
  const body = new ReadableStream({
    async start(controller) {
      for (let i = 0; i < 20; i++) {
        controller.enqueue(new Uint8Array(8 * 1024))
        await sleep(2)
      }
      controller.close()
    },
  })
  const res = await fetch(`${proxy.url}/api/echo`, { method: 'POST', body, duplex: 'half' } as RequestInit).catch((err: Error) => err)
  if (res instanceof Response) assert.equal(res.status, 413)
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.error_kind, 'too_large')
  await stillServes()
})

test('a caller that disconnects mid-stream aborts the upstream request and the hop says client_abort', async () => {
  const before = abortedUpstream
  const controller = new AbortController()
  const res = await fetch(`${proxy.url}/api/slow-stream`, { signal: controller.signal })
  const reader = res.body!.getReader()
  await reader.read()
  controller.abort()
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.error_kind, 'client_abort')
  const deadline = Date.now() + 5000
  while (abortedUpstream === before && Date.now() < deadline) await sleep(20)
  assert.equal(abortedUpstream, before + 1, 'the upstream saw its request closed')
  await stillServes()
})

test('an upstream that resets mid-response: the caller sees a truncated body, the hop says reset', async () => {
  const res = await fetch(`${proxy.url}/api/reset`)
  assert.equal(res.status, 200)
  await assert.rejects(res.text())
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.error_kind, 'reset')
  assert.equal(hop!.bytes_out, 'partial'.length)
  await stillServes()
})

test('an upstream that is down gets a 502 with a code; one that hangs gets a 504', async () => {
  const down = await fetch(`${proxy.url}/down/x`)
  assert.equal(down.status, 502)
  assert.equal(down.headers.get('x-hopwatch-error'), 'HW_PROXY_UPSTREAM_UNREACHABLE')
  const hang = await fetch(`${proxy.url}/api/hang`)
  assert.equal(hang.status, 504)
  assert.equal(hang.headers.get('x-hopwatch-error'), 'HW_PROXY_UPSTREAM_TIMEOUT')
  const got = await hops.waitFor(2)
  assert.deepEqual(got.map((h) => h.error_kind).sort(), ['connect', 'timeout'])
  await stillServes()
})

test('a malformed HTTP request is answered 400 by the server and the proxy keeps serving', async () => {
  const reply = await new Promise<string>((resolve) => {
    const socket = connect(Number(new URL(proxy.url).port), '127.0.0.1', () => socket.write('GARBAGE \x00\x01 HTTP/9\r\n\r\n'))
    let text = ''
    socket.on('data', (d) => (text += d.toString()))
    socket.on('close', () => resolve(text))
  })
  assert.match(reply, /^HTTP\/1\.1 400/)
  await stillServes()
})

test('a WebSocket peer that sends garbage bytes is closed and other connections go on', async () => {
  const good = new RecordingSocket(`${proxy.url.replace('http:', 'ws:')}/echo/`)
  await good.opened()
  const bad = new RecordingSocket(`${proxy.url.replace('http:', 'ws:')}/echo/`)
  await bad.opened()
  // an unmasked frame with a reserved opcode: a protocol error
  ;(bad.socket as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.from([0x83, 0x02, 0x00, 0x00]))
  await bad.until(() => bad.closed !== undefined, 'the bad peer to be closed')
  good.socket.send('ping')
  await good.until(() => good.messages.length === 1, 'the echo on the good connection')
  assert.equal(good.messages[0]!.data.toString(), 'ping')
  good.socket.close()
  await stillServes()
})

test('a WebSocket message over the frame limit closes that connection with 1009 only', async () => {
  const client = new RecordingSocket(`${proxy.url.replace('http:', 'ws:')}/echo/`)
  await client.opened()
  client.socket.send(Buffer.alloc(100 * 1024))
  await client.until(() => client.closed !== undefined, 'the close')
  assert.equal(client.closed?.code, 1009)
  await stillServes()
})

test('an upstream WebSocket that closes before answering is recorded as reset, not as the caller leaving', async () => {
  const client = new RecordingSocket(`${proxy.url.replace('http:', 'ws:')}/quitter/`)
  await client.opened()
  client.socket.send('hello?')
  await client.until(() => client.closed !== undefined, 'the close')
  assert.equal(client.closed?.code, 1000)
  const [hop] = await hops.waitFor(1)
  assert.equal(hop!.error_kind, 'reset')
  assert.equal(hop!.first_payload_us, 0)
})
