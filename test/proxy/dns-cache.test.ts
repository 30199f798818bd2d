import assert from 'node:assert/strict'
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import { test } from 'node:test'
import { Pool } from 'undici'
import { WebSocket } from 'ws'
import { DnsCache, upstreamDns, type ResolveAll } from '../../src/proxy/dns-cache.js'
import { startTestProxy } from '../support/proxy.js'
import { listenHttp, listenWs } from '../support/servers.js'

/** A resolver the test answers by hand: each lookup waits in `pending` until the test settles it. */
function manualResolver() {
  const pending: Array<{ hostname: string; options: LookupOptions; settle: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void }> = []
  const resolve: ResolveAll = (hostname, options, settle) => void pending.push({ hostname, options, settle })
  return { pending, resolve }
}

type Got = { err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family: number | undefined }
const ask = (cache: DnsCache, hostname: string, options: LookupOptions): Promise<Got> =>
  new Promise((r) => cache.lookup(hostname, options, (err, address, family) => r({ err, address, family })))

const A = [{ address: '10.0.0.7', family: 4 }, { address: 'fd00::7', family: 6 }]
const B = [{ address: '10.0.0.8', family: 4 }]

test('concurrent first connections to a name share one lookup, answered in the form each asked for', async () => {
  const { pending, resolve } = manualResolver()
  const cache = new DnsCache({ resolve })
  const one = ask(cache, 'llm.staging', { all: false })
  const all = ask(cache, 'llm.staging', { all: true })
  await new Promise((r) => setImmediate(r))
  assert.equal(pending.length, 1)
  assert.equal(pending[0]?.options.all, true, 'the system resolver is asked for every address')
  pending[0]?.settle(null, A)
  assert.deepEqual(await one, { err: null, address: '10.0.0.7', family: 4 })
  assert.deepEqual(await all, { err: null, address: A, family: undefined })
})

/** A cache on a clock the test sets (refresh at 5 s, kept for 60 s), that has resolved `name` to A at time 0. */
async function resolvedAtZero(name: string) {
  const clock = { now: 0 }
  const { pending, resolve } = manualResolver()
  const cache = new DnsCache({ resolve, now: () => clock.now, refreshMs: 5000, staleMaxMs: 60_000 })
  const first = ask(cache, name, { all: true })
  pending[0]?.settle(null, A)
  await first
  return { cache, pending, clock }
}

test('a name resolved before is answered from the cache, and a stale answer is used while one renewal runs in the background', async () => {
  const { cache, pending, clock } = await resolvedAtZero('tts')
  clock.now = 4999
  assert.deepEqual((await ask(cache, 'tts', { all: true })).address, A)
  assert.equal(pending.length, 1, 'fresh: no lookup')
  clock.now = 5000
  // stale: answered at once with the old addresses, and exactly one renewal starts however many connections ask
  assert.deepEqual((await ask(cache, 'tts', { all: true })).address, A)
  assert.deepEqual((await ask(cache, 'tts', { all: false })).address, '10.0.0.7')
  assert.equal(pending.length, 2)
  assert.equal(cache.lookups, 2)
  pending[1]?.settle(null, B)
  assert.deepEqual((await ask(cache, 'tts', { all: true })).address, B, 'the renewal replaced the answer')
})

test('a failed first lookup reaches the caller and is not kept: the next connection looks up again', async () => {
  const { pending, resolve } = manualResolver()
  const cache = new DnsCache({ resolve })
  const first = ask(cache, 'nowhere', { all: true })
  pending[0]?.settle(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere'), { code: 'ENOTFOUND' }), [])
  assert.equal((await first).err?.code, 'ENOTFOUND')
  const second = ask(cache, 'nowhere', { all: false })
  assert.equal(pending.length, 2)
  pending[1]?.settle(null, B)
  assert.deepEqual(await second, { err: null, address: '10.0.0.8', family: 4 })
})

test('a lookup that throws at once reaches the caller as an error, and the next connection looks up again', async () => {
  let calls = 0
  const cache = new DnsCache({
    resolve: (_hostname, _options, cb) => {
      if (++calls === 1) throw Object.assign(new TypeError('The "hostname" argument is invalid'), { code: 'ERR_INVALID_ARG_VALUE' })
      cb(null, B)
    },
  })
  assert.equal((await ask(cache, 'odd', { all: true })).err?.code, 'ERR_INVALID_ARG_VALUE')
  assert.deepEqual(await ask(cache, 'odd', { all: false }), { err: null, address: '10.0.0.8', family: 4 })
})

test('a name that stops resolving keeps its last answer until it is too old, then the error reaches the caller', async () => {
  const { cache, pending, clock } = await resolvedAtZero('stt')
  const enotfound = () => Object.assign(new Error('getaddrinfo EAI_AGAIN stt'), { code: 'EAI_AGAIN' })
  clock.now = 6000
  await ask(cache, 'stt', { all: true })
  pending[1]?.settle(enotfound(), [])
  clock.now = 59_999
  assert.deepEqual((await ask(cache, 'stt', { all: true })).address, A, 'the renewal failed: the last answer stands')
  pending[2]?.settle(enotfound(), [])
  clock.now = 60_000
  const late = ask(cache, 'stt', { all: true })
  assert.equal(pending.length, 4, 'too old to use: the caller waits for a lookup of its own')
  pending[3]?.settle(enotfound(), [])
  assert.equal((await late).err?.code, 'EAI_AGAIN')
})

test('the cache counts the connections that asked and its lookups by outcome, as /metrics reports them', async () => {
  const { cache, pending, clock } = await resolvedAtZero('stt')
  assert.deepEqual(cache.counts(), { asked: 1, resolved: 1, failed: 0 })
  await ask(cache, 'stt', { all: true })
  assert.deepEqual(cache.counts(), { asked: 2, resolved: 1, failed: 0 }, 'answered from the cache: no lookup')
  clock.now = 6000
  await ask(cache, 'stt', { all: true })
  pending[1]?.settle(Object.assign(new Error('getaddrinfo EAI_AGAIN stt'), { code: 'EAI_AGAIN' }), [])
  assert.deepEqual(cache.counts(), { asked: 3, resolved: 1, failed: 1 }, 'a renewal that failed is counted, though its last answer stands')
  const empty = ask(cache, 'void', { all: true })
  pending[2]?.settle(null, [])
  assert.equal((await empty).err?.code, 'ENOTFOUND')
  assert.deepEqual(cache.counts(), { asked: 4, resolved: 1, failed: 2 }, 'no address is a failure too')
})

test('names are kept apart by the address family asked for', async () => {
  const { pending, resolve } = manualResolver()
  const cache = new DnsCache({ resolve })
  const v4 = ask(cache, 'api', { family: 4, all: true })
  const v6 = ask(cache, 'api', { family: 6, all: true })
  assert.equal(pending.length, 2)
  pending[0]?.settle(null, [{ address: '10.0.0.9', family: 4 }])
  pending[1]?.settle(null, [{ address: 'fd00::9', family: 6 }])
  assert.deepEqual([(await v4).address, (await v6).address], [[{ address: '10.0.0.9', family: 4 }], [{ address: 'fd00::9', family: 6 }]])
})

test('undici and ws connect through the cache to a name the system resolves, with one lookup for many connections', async () => {
  let lookups = 0
  const cache = new DnsCache({
    resolve: (hostname, options, cb) => {
      lookups++
      dnsLookup(hostname, options, cb)
    },
  })
  const http = await listenHttp((_req, res) => res.end('ok'))
  const ws = await listenWs((socket) => socket.on('message', (m) => socket.send(m)))
  // connections: 4 and 4 requests at once, so the pool opens several sockets
  const pool = new Pool(`http://localhost:${http.port}`, { connections: 4, connect: { lookup: cache.lookup } })
  try {
    const bodies = await Promise.all(Array.from({ length: 4 }, async () => (await pool.request({ path: '/', method: 'GET' })).body.text()))
    assert.deepEqual(bodies, ['ok', 'ok', 'ok', 'ok'])
    for (let i = 0; i < 3; i++) {
      const socket = new WebSocket(`ws://localhost:${ws.port}/`, { lookup: cache.lookup })
      await new Promise((r, j) => socket.once('open', r).once('error', j))
      socket.send('hi')
      assert.equal(String(await new Promise((r) => socket.once('message', r))), 'hi')
      socket.close()
    }
    assert.equal(lookups, 1, 'localhost was looked up once for 4 pooled connections and 3 WebSockets')
  } finally {
    await pool.destroy()
    await Promise.all([http.close(), ws.close()])
  }
})

test('the proxy reaches an upstream by host name over HTTP and WebSocket, looking the name up once', async () => {
  const http = await listenHttp((_req, res) => res.end('{"ok":true}'))
  const ws = await listenWs((socket) => socket.on('message', (m) => socket.send(m)))
  const proxy = await startTestProxy([
    { name: 'api', component: 'backend', adapter: 'http', target: `http://localhost:${http.port}`, prefix: '/api' },
    { name: 'live', component: 's2s', adapter: 'http', target: `ws://localhost:${ws.port}`, prefix: '/live' },
  ])
  try {
    const before = upstreamDns.lookups
    const asked = upstreamDns.asked
    for (let i = 0; i < 3; i++) assert.equal(await (await fetch(`${proxy.url}/api/x`)).text(), '{"ok":true}')
    assert.equal(upstreamDns.asked - asked, 1, 'the HTTP upstream\'s one kept-alive connection asked the cache')
    for (let i = 0; i < 3; i++) {
      const socket = new WebSocket(`${proxy.url.replace('http:', 'ws:')}/live/`)
      await new Promise((r, j) => socket.once('open', r).once('error', j))
      socket.send('hi')
      assert.equal(String(await new Promise((r) => socket.once('message', r))), 'hi')
      socket.close()
    }
    assert.equal(upstreamDns.asked - asked, 4, 'and so did each WebSocket call\'s upstream connection')
    assert.equal(upstreamDns.lookups - before, 1, 'both upstreams are localhost: one lookup for every connection')
  } finally {
    await proxy.close()
    await Promise.all([http.close(), ws.close()])
  }
})
