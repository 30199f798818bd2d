// Floods a proxy's OTLP receiver until told to stop, from a process of its own: many spans per request, huge
// attributes, deep nesting, gzip bombs and malformed bodies, CONCURRENCY requests at a time. Reports statuses.
import { gzipSync } from 'node:zlib'
import { Pool } from 'undici'

const url = new URL(process.argv[2] as string)
const CONCURRENCY = 8
const now = BigInt(Date.now()) * 1_000_000n
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0')
const span = (i: number, attributes: object[] = []) => ({
  traceId: hex(i + 1, 32), spanId: hex(i + 1, 16), name: 'llm', kind: 3,
  startTimeUnixNano: String(now), endTimeUnixNano: String(now + 1_000_000n), attributes,
})
const body = (spans: object[]) => JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'flood' } }] }, scopeSpans: [{ scope: { name: 'flood' }, spans }] }] })
let nested: object = { stringValue: 'bottom' }
for (let i = 0; i < 500; i++) nested = { kvlistValue: { values: [{ key: `k${i}`, value: nested }] } }
const KINDS: Array<[string, Buffer, Record<string, string>]> = [
  ['1,000 spans', Buffer.from(body(Array.from({ length: 1000 }, (_, i) => span(i, [{ key: 'gen_ai.request.model', value: { stringValue: 'gpt' } }])))), {}],
  ['a 4 MB attribute', Buffer.from(body([span(1, [{ key: 'big', value: { stringValue: 'x'.repeat(4_000_000) } }])])), {}],
  ['500-deep nesting', Buffer.from(body([span(2, [{ key: 'deep', value: nested }])])), {}],
  ['a gzip bomb (1 GB of zeros)', gzipSync(Buffer.alloc(1e9 / 4)), { 'content-encoding': 'gzip' }],
  ['malformed JSON', Buffer.from('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": '), {}],
]
// the bomb: 250 MB of zeros compressed, sent four times over in one body would be 1 GB; one member is enough to
// pass the 8 MiB bound many times over
const counts = new Map<string, number>()
const pool = new Pool(url.origin, { connections: CONCURRENCY })
let stop = false
process.on('message', (m) => {
  if (m === 'stop') stop = true
})
let sent = 0
const worker = async (w: number) => {
  for (let i = w; !stop; i += CONCURRENCY) {
    const [kind, payload, headers] = KINDS[i % KINDS.length] as (typeof KINDS)[number]
    try {
      const res = await pool.request({ path: url.pathname, method: 'POST', body: payload, headers: { 'content-type': 'application/json', ...headers } })
      await res.body.dump()
      const key = `${kind}: ${res.statusCode}`
      counts.set(key, (counts.get(key) ?? 0) + 1)
    } catch (err) {
      const key = `${kind}: ${(err as Error).message}`
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    sent++
  }
}
process.send?.({ ready: true })
await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)))
await pool.close()
process.send?.({ sent, counts: Object.fromEntries([...counts].sort()) })
