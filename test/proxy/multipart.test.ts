import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MultipartScanner, multipartBoundary, type PartSeen } from '../../src/proxy/adapters/multipart.js'

const BOUNDARY = '----hopwatchBoundary7MA4YWxk'
const file = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(3000, 7), Buffer.from(`\r\n--${BOUNDARY.slice(0, 10)}`), Buffer.alloc(500, 1)])
const body = Buffer.concat([
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n`),
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="turn.wav"\r\nContent-Type: audio/wav\r\n\r\n`),
  file,
  Buffer.from(`\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="response_format"\r\n\r\njson\r\n--${BOUNDARY}--\r\n`),
])

function scan(chunks: Buffer[]): PartSeen[] {
  const parts: PartSeen[] = []
  const scanner = new MultipartScanner(BOUNDARY, (p) => parts.push(p))
  for (const c of chunks) scanner.push(c)
  return parts
}

const summary = (parts: PartSeen[]) => parts.map((p) => [p.name, p.filename, p.bytes, p.name === 'file' ? p.head.subarray(0, 4).toString() : p.head.toString()])
const expected = [
  ['model', undefined, 9, 'whisper-1'],
  ['file', 'turn.wav', file.length, 'RIFF'],
  ['response_format', undefined, 4, 'json'],
]

test('a multipart form is read part by part, with each part\'s size and first bytes, however the body is cut into chunks', () => {
  assert.deepEqual(summary(scan([body])), expected)
  for (let cut = 1; cut < body.length; cut += 7) assert.deepEqual(summary(scan([body.subarray(0, cut), body.subarray(cut)])), expected, `cut at ${cut}`)
  const bytes = [...body].map((b) => Buffer.from([b]))
  assert.deepEqual(summary(scan(bytes)), expected, 'a byte at a time')
})

test('the boundary is read from the content type, quoted or not; other types have none', () => {
  assert.equal(multipartBoundary(`multipart/form-data; boundary=${BOUNDARY}`), BOUNDARY)
  assert.equal(multipartBoundary('multipart/form-data; boundary="a b"'), 'a b')
  assert.equal(multipartBoundary('application/json'), undefined)
  assert.equal(multipartBoundary(undefined), undefined)
})

test('part headers that never end stop the scan instead of growing without bound', () => {
  const parts: PartSeen[] = []
  const scanner = new MultipartScanner(BOUNDARY, (p) => parts.push(p))
  scanner.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="x"\r\n`))
  for (let i = 0; i < 100; i++) scanner.push(Buffer.alloc(1024, 0x61))
  scanner.push(Buffer.from(`\r\n\r\nvalue\r\n--${BOUNDARY}--\r\n`))
  assert.deepEqual(parts, [])
})
