import assert from 'node:assert/strict'
import { Agent, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { hopwatch, startHopwatch } from '../support/cli.js'
import { openaiProvider } from '../support/providers.js'

let llm: Awaited<ReturnType<typeof openaiProvider>>
let dir: string

before(async () => {
  llm = await openaiProvider()
  dir = await mkdtemp(join(tmpdir(), 'hopwatch-workers-'))
  await writeFile(
    join(dir, 'hopwatch.yaml'),
    `proxy: { port: 0 }
upstreams:
  - { name: llm, component: llm, adapter: openai, target: "${llm.url.replace('127.0.0.1', 'localhost')}/v1", prefix: /llm }
store: { dir: ./data, flush_ms: 50 }
telemetry: { receiver: { enabled: false } }
resources: { interval_s: 1 }
`,
  )
})
after(() => llm.close())

/**
 * One request on a connection of its own (each new connection goes to whichever worker accepts it); JSON bodies. An
 * answer that never comes fails the test rather than stalling it.
 */
function onNewConnection(url: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: body === undefined ? 'GET' : 'POST', agent: false, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')))
    req.end(body)
  })
}

/** One chat completion on a connection of its own. */
const chatBody = (stream: boolean) => JSON.stringify({ model: 'gpt-test', stream, messages: [{ role: 'user', content: 'hi' }] })
const chat = (url: string, stream: boolean, headers: Record<string, string> = {}) => onNewConnection(`${url}/llm/chat/completions`, chatBody(stream), headers)

/** `n` chat completions, 20 at a time; every tenth streams (the provider paces its deltas GAP_MS apart). */
async function chats(url: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 20) {
    const answers = await Promise.all(Array.from({ length: Math.min(20, n - i) }, (_, j) => chat(url, (i + j) % 10 === 0)))
    for (const a of answers) assert.equal(a.status, 200, a.body)
  }
}

type Stats = { workers: Array<{ pid: number; hops: number; running: boolean }>; store: { tables: { hops: { written: number } } } }

/** The hops every worker handed over, together. */
const handedOver = (s: Stats) => s.workers.reduce((a, w) => a + w.hops, 0)

async function statsOf(): Promise<Stats> {
  const owner = JSON.parse(await readFile(join(dir, 'data', 'hopwatch-owner.json'), 'utf8')) as { admin_url: string; admin_token: string }
  return (await (await fetch(`${owner.admin_url}/_hopwatch/stats`, { headers: { authorization: `Bearer ${owner.admin_token}` } })).json()) as Stats
}

/** Until `ok` holds for the owner's stats (hops reach it every 100 ms), 10 s at most. */
async function statsWhen(ok: (s: Stats) => boolean): Promise<Stats> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const s = await statsOf()
    if (ok(s) || Date.now() > deadline) return s
    await new Promise((r) => setTimeout(r, 50))
  }
}

test('with --workers 2, two processes serve the port and the owner stores every hop they forward once, answers /metrics for all and samples each worker\'s process', async (t) => {
  const proxy = await startHopwatch(['proxy', '--workers', '2'], /listening on (http:\/\/[\d.:]+).*; 2 worker processes/, dir)
  t.after(() => {
    if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL')
  })
  const url = proxy.match[1]!
  await chats(url, 100)

  const stats = await statsWhen((s) => handedOver(s) === 100)
  assert.equal(stats.workers.length, 2)
  for (const w of stats.workers) {
    assert.notEqual(w.pid, proxy.child.pid, 'the workers are processes of their own')
    assert.ok(w.hops > 0, `worker ${w.pid} served some of the 100 connections (${JSON.stringify(stats.workers)})`)
  }
  assert.equal(handedOver(stats), 100)
  // a worker's /metrics is the owner's: every worker's hops, whichever worker answers the scrape
  for (let i = 0; i < 4; i++) {
    const metrics = (await onNewConnection(`${url}/metrics`)).body
    assert.match(metrics, /hopwatch_hops_total\{upstream="llm",component="llm",status_class="2xx"\} 100\b/)
  }
  // the upstream is named, not an address: each worker looked the name up for its first connection, and reports its
  // name cache's counts every second
  let dns = { asked: 0, resolved: 0, failed: -1 }
  for (const end = Date.now() + 5000; Date.now() < end && dns.resolved < 2; await new Promise((r) => setTimeout(r, 200))) {
    const metrics = await (await fetch(`${url}/metrics`)).text()
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN)
    dns = { asked: value('hopwatch_upstream_dns_asked_total'), resolved: value('hopwatch_upstream_dns_lookups_total{outcome="resolved"}'), failed: value('hopwatch_upstream_dns_lookups_total{outcome="failed"}') }
  }
  assert.ok(dns.resolved >= 2 && dns.failed === 0, `both workers resolved the name, none failed: ${JSON.stringify(dns)}`)
  assert.ok(dns.asked >= dns.resolved, `every lookup was for a connection that asked: ${JSON.stringify(dns)}`)

  proxy.child.kill('SIGTERM')
  assert.equal(await proxy.exited, 0, proxy.output().stderr)
  assert.match(proxy.output().stdout, /hops\s+100\s+100\s+0\s+0\s+0/)
  const stored = await hopwatch(['sql', 'SELECT count() AS n, uniqExact(hop_id) AS distinct_hops, countIf(status = 200 AND first_payload_us > 0) AS answered FROM hopwatch.hops'], dir)
  assert.equal(stored.code, 0, stored.stderr)
  assert.deepEqual(JSON.parse(stored.stdout), { n: 100, distinct_hops: 100, answered: 100 })
  // each worker's process was sampled as a target of its own, the owner as itself
  const sampled = await hopwatch(['sql', "SELECT DISTINCT target FROM hopwatch.resource_samples WHERE metric = 'rss_bytes' AND value > 0 ORDER BY target"], dir)
  const targets = sampled.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { target: string }).target)
  assert.deepEqual(targets, ['hopwatch', ...stats.workers.map((w) => `hopwatch-worker-${w.pid}`).sort()])
  assert.doesNotMatch(proxy.output().stderr, /is gone/, 'workers that stop as told are not reported gone')
})

test('a worker that dies is replaced, said on stderr, and the others serve on; hops it handed over stay stored', async (t) => {
  const proxy = await startHopwatch(['proxy', '--workers', '2', '--run-id', 'worker-dies'], /listening on (http:\/\/[\d.:]+).*; 2 worker processes/, dir)
  t.after(() => {
    if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL')
  })
  const url = proxy.match[1]!
  await chats(url, 40)
  const before = await statsWhen((s) => handedOver(s) === 40)
  const victim = before.workers[0]!
  process.kill(victim.pid, 'SIGKILL')
  // the next connections come once the owner has seen the death: none of them can be one the dying worker held (and
  // was reset with it; the test after this one is about those)
  await statsWhen((s) => s.workers.some((w) => w.pid === victim.pid && !w.running))
  await chats(url, 40)
  const after = await statsWhen((s) => s.workers.filter((w) => w.running).length === 2 && handedOver(s) === 80)
  assert.equal(after.workers.filter((w) => w.running).length, 2, JSON.stringify(after.workers))
  assert.ok(after.workers.some((w) => w.pid === victim.pid && !w.running), 'the dead worker is listed as not running')
  assert.match(proxy.output().stderr, new RegExp(`proxy worker ${victim.pid} exited \\(SIGKILL\\).*starting another`))

  proxy.child.kill('SIGTERM')
  assert.equal(await proxy.exited, 0, proxy.output().stderr)
  const stored = await hopwatch(['sql', "SELECT count() AS n FROM hopwatch.hops WHERE run_id = 'worker-dies'"], dir)
  assert.deepEqual(JSON.parse(stored.stdout), { n: 80 })
})

/** One chat on a connection of its own, told as what became of it: answered (200), failed (reset, or any other answer), or still waiting after 5 s. */
function outcomeOfChat(url: string): Promise<'answered' | 'failed' | 'waited'> {
  return new Promise((resolve) => {
    const req = request(`${url}/llm/chat/completions`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode === 200 ? 'answered' : 'failed'))
      res.on('error', () => resolve('failed'))
    })
    req.on('error', (err) => resolve(err.message === 'waited' ? 'waited' : 'failed'))
    req.setTimeout(5_000, () => req.destroy(new Error('waited')))
    req.end(chatBody(false))
  })
}

test('a connection that arrives as a worker dies is answered, or reset with it, never left waiting', async (t) => {
  const proxy = await startHopwatch(['proxy', '--workers', '2', '--run-id', 'dies-under-load'], /listening on (http:\/\/[\d.:]+).*; 2 worker processes/, dir)
  t.after(() => {
    if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL')
  })
  const url = proxy.match[1]!
  const victim = (await statsOf()).workers[0]!
  // 20 callers, each opening connection after connection, for 3 s; one worker is killed 1 s in
  const outcomes = { answered: 0, failed: 0, waited: 0 }
  const end = Date.now() + 3_000
  const kill = setTimeout(() => process.kill(victim.pid, 'SIGKILL'), 1_000)
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (Date.now() < end) outcomes[await outcomeOfChat(url)]++
    }),
  )
  clearTimeout(kill)
  // the calls the dead worker was serving are reset with it (the caller learns at once); none is left without an answer
  assert.equal(outcomes.waited, 0, `callers left waiting: ${JSON.stringify(outcomes)}`)
  assert.ok(outcomes.answered > 100, JSON.stringify(outcomes))
  assert.ok(outcomes.failed <= 20, `at most one call per caller was on the dead worker: ${JSON.stringify(outcomes)}`)
})

test('a worker whose event loop stalls raises proxy_overloaded under the proxy\'s name, from the owner', async (t) => {
  const config = join(dir, 'stalls.yaml')
  await writeFile(config, `proxy: { port: 0, name: pool-a }\nupstreams:\n  - { name: llm, component: llm, adapter: openai, target: "${llm.url}/v1", prefix: /llm }\nstore: { dir: ./data, flush_ms: 50 }\ntelemetry: { receiver: { enabled: false } }\nalerts: { eval_s: 1, for_s: 1 }\n`)
  const proxy = await startHopwatch(['proxy', '--config', config, '--workers', '1', '--run-id', 'stalls'], /listening on (http:\/\/[\d.:]+).*; 1 worker process\b/, dir)
  t.after(() => {
    if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL')
  })
  const [worker] = (await statsWhen((s) => s.workers.some((w) => w.running))).workers
  // the worker's loop stops 150 ms of every 400 (as a saturated core would hold it): its lag p99 is far past 50 ms
  for (const end = Date.now() + 4000; Date.now() < end; ) {
    process.kill(worker!.pid, 'SIGSTOP')
    await new Promise((r) => setTimeout(r, 150))
    process.kill(worker!.pid, 'SIGCONT')
    await new Promise((r) => setTimeout(r, 250))
  }
  await new Promise((r) => setTimeout(r, 1500)) // its last report, and an evaluation after it
  proxy.child.kill('SIGTERM')
  assert.equal(await proxy.exited, 0, proxy.output().stderr)
  const alerts = await hopwatch(['sql', "SELECT DISTINCT rule, component, state FROM hopwatch.alerts WHERE run_id = 'stalls' ORDER BY state"], dir)
  assert.equal(alerts.code, 0, alerts.stderr)
  const rows = alerts.stdout.trim().split('\n').map((l) => JSON.parse(l) as { rule: string; component: string; state: string })
  assert.ok(rows.some((r) => r.rule === 'proxy_overloaded' && r.component === 'pool-a' && r.state === 'firing'), alerts.stdout)
  assert.match(proxy.output().stderr, /the proxy pool-a's event-loop lag p99 is \d+/)
})

test('with --workers 2, an agent\'s span sent to one worker joins the hop another worker timed, and the call is not written twice', async (t) => {
  const config = join(dir, 'receiver.yaml')
  await writeFile(config, `proxy: { port: 0 }\nupstreams:\n  - { name: llm, component: llm, adapter: openai, target: "${llm.url}/v1", prefix: /llm }\nstore: { dir: ./data, flush_ms: 50 }\n`)
  const proxy = await startHopwatch(['proxy', '--config', config, '--workers', '2', '--run-id', 'joined'], /listening on (http:\/\/[\d.:]+).*OTLP\/HTTP traces at \/v1\/traces.*; 2 worker processes/, dir)
  t.after(() => {
    if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL')
  })
  const url = proxy.match[1]!
  const traceId = 'ab'.repeat(16)
  const spanId = 'cd'.repeat(8)
  const startNs = BigInt(Date.now() - 1000) * 1_000_000n
  // four calls, each on a connection of its own (so both workers time some), one of them in the agent's span
  const call = async (traceparent?: string) => (await chat(url, false, traceparent !== undefined ? { traceparent } : {})).status
  assert.deepEqual(await Promise.all([call(), call(`00-${traceId}-${spanId}-01`), call(), call()]), [200, 200, 200, 200])
  const endNs = BigInt(Date.now() + 1000) * 1_000_000n
  const span = { traceId, spanId, name: 'llm_request', kind: 3, startTimeUnixNano: String(startNs), endTimeUnixNano: String(endNs), attributes: [{ key: 'lk.response.ttft', value: { doubleValue: 0.02 } }] }
  const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agent' } }] }, scopeSpans: [{ scope: { name: 'livekit-agents' }, spans: [span] }] }] })
  for (let i = 0; i < 2; i++) {
    // the same span twice, on two connections: whichever worker reads it, the owner joins it (and keeps it once per send)
    const sent = await onNewConnection(`${url}/v1/traces`, i === 0 ? body : body.replace(spanId, 'ef'.repeat(8)))
    assert.equal(sent.status, 200)
  }
  // the workers report what their receivers counted every second
  let metrics = ''
  for (const end = Date.now() + 5000; Date.now() < end && !/hopwatch_otlp_received_spans_total 2\b/.test(metrics); ) {
    await new Promise((r) => setTimeout(r, 100))
    metrics = await (await fetch(`${url}/metrics`)).text()
  }
  assert.match(metrics, /hopwatch_otlp_received_spans_total 2\b/)
  proxy.child.kill('SIGTERM')
  assert.equal(await proxy.exited, 0, proxy.output().stderr)
  const joined = await hopwatch(['sql', "SELECT s.span_id AS span, h.trace_id AS hop_trace FROM hopwatch.spans AS s INNER JOIN hopwatch.hops AS h ON h.hop_id = s.joined_hop_id WHERE s.run_id = 'joined' ORDER BY span"], dir)
  assert.equal(joined.code, 0, joined.stderr)
  const rows = joined.stdout.trim().split('\n').map((l) => JSON.parse(l) as { span: string; hop_trace: string })
  assert.deepEqual(rows, [{ span: spanId, hop_trace: traceId }, { span: 'ef'.repeat(8), hop_trace: traceId }])
  const agentHops = await hopwatch(['sql', "SELECT count() AS n FROM hopwatch.hops WHERE run_id = 'joined' AND transport = 'agent'"], dir)
  assert.deepEqual(JSON.parse(agentHops.stdout), { n: 0 }, 'a joined call is not written again as the agent\'s own hop')
})

test('with --workers 2, a span is joined to a hop its worker still held when the span came: the owner waits until every worker has handed over', async (t) => {
  const config = join(dir, 'fence.yaml')
  await writeFile(config, `proxy: { port: 0 }\nupstreams:\n  - { name: llm, component: llm, adapter: openai, target: "${llm.url}/v1", prefix: /llm }\nstore: { dir: ./data, flush_ms: 50 }\n`)
  const proxy = await startHopwatch(['proxy', '--config', config, '--workers', '2', '--run-id', 'fenced'], /listening on (http:\/\/[\d.:]+).*OTLP\/HTTP traces at \/v1\/traces.*; 2 worker processes/, dir)
  let stopped: number | undefined
  t.after(() => {
    if (stopped !== undefined) process.kill(stopped, 'SIGCONT')
    if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL')
  })
  const url = proxy.match[1]!
  // every call on one kept-alive connection: one worker (the holder) times them all
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.after(() => agent.destroy())
  const call = (traceparent?: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${url}/llm/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...(traceparent !== undefined ? { traceparent } : {}) } }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', reject)
      req.end(chatBody(false))
    })
  assert.equal(await call(), 200)
  const holder = (await statsWhen((s) => handedOver(s) === 1)).workers.find((w) => w.hops === 1)!
  const traceOf = (k: number) => k.toString(16).padStart(32, 'a')
  const spanId = 'cd'.repeat(8)
  // the holder is stopped as soon as the answer is in, before its next hand-over (every 100 ms): the hop is still in
  // it. That holds unless the hand-over came first; then the call is made again (the assertions below are made once)
  let k = 1
  for (; k <= 5; k++) {
    assert.equal(await call(`00-${traceOf(k)}-${spanId}-01`), 200)
    process.kill(holder.pid, 'SIGSTOP')
    stopped = holder.pid
    await new Promise((r) => setTimeout(r, 200))
    if (handedOver(await statsOf()) === k) break // the owner has k hops: the last one is still in the stopped worker
    process.kill(holder.pid, 'SIGCONT')
    stopped = undefined
    await statsWhen((s) => handedOver(s) === k + 1)
  }
  assert.ok(stopped !== undefined, 'a call whose hop the stopped worker still held')
  // the span comes while the holder is stopped: the other worker takes it and the owner holds it until the holder answers
  const startNs = BigInt(Date.now() - 5000) * 1_000_000n
  const endNs = BigInt(Date.now() + 1000) * 1_000_000n
  const span = { traceId: traceOf(k), spanId, name: 'llm_request', kind: 3, startTimeUnixNano: String(startNs), endTimeUnixNano: String(endNs), attributes: [{ key: 'lk.response.ttft', value: { doubleValue: 0.02 } }] }
  const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agent' } }] }, scopeSpans: [{ scope: { name: 'livekit-agents' }, spans: [span] }] }] })
  assert.equal((await onNewConnection(`${url}/v1/traces`, body)).status, 200)
  await new Promise((r) => setTimeout(r, 800))
  process.kill(holder.pid, 'SIGCONT')
  stopped = undefined
  await statsWhen((s) => handedOver(s) === k + 1)

  proxy.child.kill('SIGTERM')
  assert.equal(await proxy.exited, 0, proxy.output().stderr)
  const joined = await hopwatch(['sql', "SELECT s.span_id AS span, h.trace_id AS hop_trace FROM hopwatch.spans AS s INNER JOIN hopwatch.hops AS h ON h.hop_id = s.joined_hop_id WHERE s.run_id = 'fenced'"], dir)
  assert.equal(joined.code, 0, joined.stderr)
  assert.deepEqual(joined.stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as object), [{ span: spanId, hop_trace: traceOf(k) }])
  const agentHops = await hopwatch(['sql', "SELECT count() AS n FROM hopwatch.hops WHERE run_id = 'fenced' AND transport = 'agent'"], dir)
  assert.deepEqual(JSON.parse(agentHops.stdout), { n: 0 }, 'the joined call is not written again as the agent\'s own hop')
})

test('a port already taken stops --workers with the listen error, and leaves no worker running', async () => {
  const taken = createServer()
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
  try {
    const port = (taken.address() as AddressInfo).port
    const { code, stderr } = await hopwatch(['proxy', '--workers', '2', '--port', String(port)], dir)
    assert.equal(code, 1, stderr)
    assert.match(stderr, new RegExp(`HW_PROXY_LISTEN: cannot listen on 127\\.0\\.0\\.1:${port}`))
    assert.match(stderr, /HW_PROXY_LISTEN: a proxy worker exited \(code \d+\) before it was listening/)
  } finally {
    taken.close()
  }
})

test('--workers 0 is refused before anything starts, naming the range', async () => {
  const { code, stderr } = await hopwatch(['proxy', '--workers', '0'], dir)
  assert.equal(code, 2)
  assert.match(stderr, /HW_CLI_USAGE: --workers takes 1 to 256 processes, got 0/)
})
