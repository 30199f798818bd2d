import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ATTRIBUTE_LIMITS, storableAttributes, storableText } from '../../src/telemetry/otlp/agent-spans.js'

test('credentials in span attributes are not stored: by key in any case or nesting, and by value', () => {
  const stored = JSON.stringify(
    storableAttributes(
      {
        'http.request.header.authorization': ['Bearer sk-live-abcdefghijklmnop'],
        accessToken: 'tok-123456789',
        apiKey: 'k-123456789',
        'X-Api-Key': 'k-987654321',
        http: { request: { headers: { authorization: 'Basic dXNlcjpodW50ZXIy', 'x-trace': 'kept' } } },
        'url.full': 'https://user:hunter2@api.example.com/v1/chat?api_key=sk-query-secret&model=gpt',
        'exception.message': 'call failed: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig at https://api.example.com/?key=querysecret',
        note: 'sk-proj-abcdefghijklmnopqrstuv leaked in a log line',
        'gen_ai.request.model': 'gpt-4o-mini',
      },
      false,
    ),
  )
  for (const secret of ['sk-live-abcdefghijklmnop', 'tok-123456789', 'k-123456789', 'k-987654321', 'dXNlcjpodW50ZXIy', 'hunter2', 'sk-query-secret', 'eyJhbGciOiJIUzI1NiJ9', 'querysecret', 'abcdefghijklmnopqrstuv']) {
    assert.ok(!stored.includes(secret), `${secret} stored: ${stored}`)
  }
  assert.match(stored, /gpt-4o-mini/)
  assert.match(stored, /"x-trace":"kept"/)
  assert.match(stored, /https:\/\/\*\*\*:\*\*\*@api\.example\.com\/v1\/chat\?api_key=\*\*\*&model=\*\*\*/)
})

test('a span\'s attributes are bounded: long strings are cut, and past the span\'s byte limit the rest is left out and marked', () => {
  assert.ok(Buffer.byteLength(storableText('x'.repeat(100_000))) < ATTRIBUTE_LIMITS.valueBytes + 100)
  const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`attr.${i}`, 'y'.repeat(3000)]))
  const kept = storableAttributes(many, true)
  assert.ok(Buffer.byteLength(JSON.stringify(kept)) <= ATTRIBUTE_LIMITS.spanBytes + 100)
  assert.equal(kept['hopwatch.attributes_cut'], true)
})
