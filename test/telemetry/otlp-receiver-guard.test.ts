import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { RunningProxy } from '../../src/proxy/index.js'
import { AgentTraces } from '../../src/telemetry/otlp/index.js'
import { ReceiverGuard } from '../../src/telemetry/otlp/guard.js'
import type { IncomingMessage } from 'node:http'
import { startTestProxy } from '../support/proxy.js'
import { listenHttp, type Listening } from '../support/servers.js'

/** One span as an OTel JSON exporter sends it. */
const SPAN_BODY = JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 't' }, spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'llm', kind: 3, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000500000000' }] }] }] })

let upstream: Listening
let proxy: RunningProxy
let traces: AgentTraces
const rows: unknown[] = []
/** The guard's clock, frozen: a source's bucket refills only when a test moves it, never between two requests. */
let now = 0
before(async () => {
  upstream = await listenHttp((_req, res) => res.end('ok'))
  traces = new AgentTraces({ runId: 'guarded', maxBodyBytes: 64 * 1024, holdS: 0, keepContent: false, recordTurns: true, row: (_t, r) => rows.push(r), guard: { token: 's3cret-token', requestsPerS: 5, bytesPerS: 1_000_000 }, clock: () => now })
  proxy = await startTestProxy([{ name: 'api', component: 'backend', target: upstream.url, prefix: '/api' }], {}, {}, traces)
})
after(async () => {
  await proxy.close()
  traces.close()
  await upstream.close()
})

const send = (headers: Record<string, string>, body = SPAN_BODY) => fetch(`${proxy.url}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } })

test('the receiver takes spans only with its bearer token: none or a wrong one is 401 and nothing is recorded', async () => {
  const before = traces.receiver.stats.spans
  assert.equal((await send({})).status, 401)
  assert.equal((await send({ authorization: 'Bearer s3cret-tokeN' })).status, 401)
  assert.equal(traces.receiver.stats.spans, before)
  const ok = await send({ authorization: 'Bearer s3cret-token' })
  assert.equal(ok.status, 200, await ok.text())
  assert.equal(traces.receiver.stats.spans, before + 1)
})

test('a web page cannot write spans: a browser\'s cross-site POST is 403 even with the token, and a simple text/plain one 415', async () => {
  const before = traces.receiver.stats.spans
  assert.equal((await send({ origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', authorization: 'Bearer s3cret-token' })).status, 403)
  const simple = await fetch(`${proxy.url}/v1/traces`, { method: 'POST', body: SPAN_BODY, headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' } })
  assert.equal(simple.status, 415)
  assert.equal(traces.receiver.stats.spans, before)
})

test('one source past its rate gets 429 with Retry-After, while proxied traffic goes on', async () => {
  const statuses: number[] = []
  now += 10_000 // a full bucket: the burst of 10 (twice the rate) is admitted, then every request is refused until time moves
  for (let i = 0; i < 12; i++) statuses.push((await send({ authorization: 'Bearer s3cret-token' })).status)
  assert.deepEqual(statuses, [...Array(10).fill(200), 429, 429])
  const limited = await send({ authorization: 'Bearer s3cret-token' })
  assert.equal(limited.status, 429)
  assert.ok(Number(limited.headers.get('retry-after')) >= 1)
  assert.equal(await (await fetch(`${proxy.url}/api/x`)).text(), 'ok')
  now += 200 // one request's worth at 5 per second
  assert.equal((await send({ authorization: 'Bearer s3cret-token' })).status, 200)
})

test('the guard refills each source\'s bucket with time, and sources do not share one', () => {
  let now = 0
  const guard = new ReceiverGuard({ token: undefined, requestsPerS: 1, bytesPerS: 1000, maxBodyBytes: 1000 }, () => now)
  const req = (address: string, length = 10) => ({ headers: { 'content-length': String(length) }, socket: { remoteAddress: address } }) as unknown as IncomingMessage
  assert.deepEqual([guard.admit(req('a')).ok, guard.admit(req('a')).ok, guard.admit(req('a')).ok], [true, true, false])
  assert.equal(guard.admit(req('b')).ok, true)
  now += 1000
  assert.equal(guard.admit(req('a')).ok, true)
  // a declared body larger than the source's byte allowance waits too
  assert.equal(guard.admit(req('c', 5000)).ok, false)
})

test('hopwatch proxy on a non-loopback address refuses to open the receiver without a token, naming the variable to set', async () => {
  const { mkdtemp, writeFile } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { hopwatch } = await import('../support/cli.js')
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-guard-'))
  await writeFile(join(dir, 'hopwatch.yaml'), `proxy: { host: 0.0.0.0, port: 0 }\nstore: { dir: ${join(dir, 'store')} }\nupstreams:\n  - { name: api, component: backend, target: ${upstream.url}, prefix: /api }\n`)
  const r = await hopwatch(['proxy', '--config', join(dir, 'hopwatch.yaml')], dir)
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /HOPWATCH_RECEIVER_TOKEN/)
})
