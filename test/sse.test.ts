import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SseReader } from '../src/sse.js'

/** Every event the reader finds in `text`, fed in the given pieces (byte offsets into its UTF-8). */
function read(text: string, cuts: number[] = []): string[] {
  const events: string[] = []
  const reader = new SseReader((data) => events.push(data))
  const bytes = Buffer.from(text, 'utf8')
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    reader.push(bytes.subarray(from, cut))
    from = cut
  }
  reader.end()
  return events
}

test('a UTF-8 character split across chunks arrives whole', () => {
  const text = 'data: {"content":"café 🙂"}\n\n'
  const at = Buffer.from(text).indexOf(Buffer.from('🙂')) + 2
  assert.deepEqual(read(text, [at]), ['{"content":"café 🙂"}'])
})

test('CRLF, CR and LF line endings all end lines and events, also when a CRLF is cut between chunks', () => {
  const crlf = 'data: a\r\n\r\ndata: b\r\n\r\n'
  assert.deepEqual(read(crlf), ['a', 'b'])
  assert.deepEqual(read(crlf, [8]), ['a', 'b'], 'CR at the end of one chunk, LF at the start of the next')
  assert.deepEqual(read('data: a\r\rdata: b\r\r'), ['a', 'b'])
})

test('the data lines of one event are joined with a newline; comments and other fields are skipped; data without a colon is an empty line', () => {
  assert.deepEqual(read(': keep-alive\nevent: delta\nid: 7\ndata: first\ndata:second\ndata\n\n'), ['first\nsecond\n'])
  assert.deepEqual(read('database: x\n\n'), [], 'a field that only starts with "data" is another field')
})

test('an event without its closing blank line still counts when the stream ends', () => {
  assert.deepEqual(read('data: [DONE]'), ['[DONE]'])
})

test('however the stream is cut, the same events come out', () => {
  const text = 'data: {"a": "é"}\r\n\r\n: note\ndata: x\ndata: y\n\ndata: z\r\r'
  const whole = read(text)
  assert.deepEqual(whole, ['{"a": "é"}', 'x\ny', 'z'])
  const length = Buffer.byteLength(text)
  for (let i = 1; i < length; i++) for (let j = i; j < length; j += 3) assert.deepEqual(read(text, [i, j]), whole, `cut at ${i} and ${j}`)
})

test('a line longer than 1 MiB is given up on: the reader stops rather than hold it', () => {
  const events: string[] = []
  const reader = new SseReader((data) => events.push(data))
  reader.push(Buffer.from('data: '))
  for (let i = 0; i < 40; i++) reader.push(Buffer.alloc(64 * 1024, 'x'))
  reader.push(Buffer.from('\n\ndata: later\n\n'))
  reader.end()
  assert.deepEqual(events, [])
})
