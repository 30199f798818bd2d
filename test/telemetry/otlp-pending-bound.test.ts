import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { after, before, test } from 'node:test'
import { OtlpReceiver, ReceiverBusyError } from '../../src/telemetry/otlp/receiver.js'

// Bodies are held whole until decoded; many senders at once must not add up past a bound of their own.
const MAX_BODY = 64 * 1024
const MAX_PENDING = 100 * 1024
let server: Server
let port: number
let accepted = 0
const receiver = new OtlpReceiver({ maxBodyBytes: MAX_BODY, maxPendingBytes: MAX_PENDING, accept: (spans) => void (accepted += spans.length) })
before(async () => {
  server = createServer((req, res) => receiver.handle(req, res))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  port = (server.address() as AddressInfo).port
})
after(() => new Promise<void>((r) => server.close(() => r())))

/** A valid JSON export of one span, padded with whitespace to `size` bytes. */
function body(size: number): Buffer {
  const json = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'x', kind: 1, startTimeUnixNano: '1800000000000000000', endTimeUnixNano: '1800000000100000000' }] }] }] })
  return Buffer.concat([Buffer.from(json), Buffer.alloc(size - json.length, ' ')])
}

/** Sends the headers and the first `sent` bytes of a body, and collects the answer. */
function partial(whole: Buffer, sent: number): { socket: Socket; answer: Promise<string> } {
  const socket = connect(port, '127.0.0.1')
  socket.write(`POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${whole.length}\r\n\r\n`)
  socket.write(whole.subarray(0, sent))
  let text = ''
  socket.on('data', (d: Buffer) => (text += d.toString()))
  socket.on('error', () => {})
  return { socket, answer: new Promise((r) => socket.on('close', () => r(text))) }
}

const settle = () => new Promise((r) => setTimeout(r, 100))

test('bodies in progress from many senders are bounded together: past the bound a sender gets 503 with Retry-After, and the bytes come back when a body ends', async () => {
  const whole = body(60 * 1024)
  const first = partial(whole, 59 * 1024)
  await settle()
  const second = partial(whole, 50 * 1024) // 59 + 50 KiB held would pass the 100 KiB bound
  const refused = await second.answer
  assert.match(refused, /^HTTP\/1\.1 503 /)
  assert.match(refused, /retry-after: 1/i)
  assert.match(refused, /max_pending_bytes/)
  first.socket.end(whole.subarray(59 * 1024))
  assert.match(await first.answer, /^HTTP\/1\.1 200 /)
  // the first body's bytes were given back: the same size fits again
  const third = partial(whole, whole.length)
  third.socket.end()
  assert.match(await third.answer, /^HTTP\/1\.1 200 /)
  assert.equal(accepted, 2)
  assert.equal(receiver.stats.busy, 1)
  assert.equal(receiver.pendingBytes, 0)
})

test('a sender that goes away mid-body gives its bytes back', async () => {
  const whole = body(60 * 1024)
  const gone = partial(whole, 59 * 1024)
  await settle()
  assert.ok(receiver.pendingBytes >= 59 * 1024)
  gone.socket.destroy()
  await gone.answer
  await settle()
  assert.equal(receiver.pendingBytes, 0)
})

test('spans the receiver cannot pass on yet (a --workers owner behind) get 503 with Retry-After, which OTLP exporters retry, counted as busy', async () => {
  const behind = new OtlpReceiver({
    maxBodyBytes: MAX_BODY,
    accept: () => {
      throw new ReceiverBusyError('the store owner is behind')
    },
  })
  const own = createServer((req, res) => behind.handle(req, res))
  await new Promise<void>((r) => own.listen(0, '127.0.0.1', r))
  try {
    const res = await fetch(`http://127.0.0.1:${(own.address() as AddressInfo).port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(1000) })
    assert.equal(res.status, 503)
    assert.equal(res.headers.get('retry-after'), '1')
    assert.match(((await res.json()) as { message: string }).message, /the store owner is behind/)
    assert.deepEqual([behind.stats.busy, behind.stats.failed], [1, 0])
  } finally {
    await new Promise<void>((r) => own.close(() => r()))
  }
})
