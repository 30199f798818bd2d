import assert from 'node:assert/strict'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { WebSocket } from 'ws'
import { ENGINE_NICE, NODE_THREADS } from '../../src/store/engine-threads.js'
import { hopwatch, startHopwatch } from '../support/cli.js'
import { threadsOf } from '../support/threads.js'
import { deepgramProvider, openaiProvider } from '../support/providers.js'

const SECRETS = ['sk-SECRET-bearer-1234', 'SECRET-api-key-5678', 'SECRET-xi-9012', 'SECRET-cookie-3456', 'SECRET-query-7890', 'SECRET-ws-token-2468', 'SECRET-body-1357', 'SECRET-otlp-header-8642', 'SECRET-otlp-url-9753', 'SECRET-otlp-token-3141', 'SECRET-otlp-nested-2718', 'SECRET-otlp-exc-1618', 'SECRET-xapikey-4242'] as const

let llm: Awaited<ReturnType<typeof openaiProvider>>
let stt: Awaited<ReturnType<typeof deepgramProvider>>
let dir: string

before(async () => {
  llm = await openaiProvider()
  stt = await deepgramProvider()
  dir = await mkdtemp(join(tmpdir(), 'hopwatch-cli-'))
  await writeFile(
    join(dir, 'hopwatch.yaml'),
    `proxy: { port: 0 }
upstreams:
  - { name: llm, component: llm, adapter: openai, target: "${llm.url}/v1", prefix: /llm }
  - { name: stt, component: stt, adapter: deepgram, target: "${stt.url}", prefix: /stt }
store: { dir: ./data, flush_ms: 50 }
`,
  )
})
after(async () => {
  await llm.close()
  await stt.close()
})

test('hopwatch --help lists the subcommands', async () => {
  const { code, stdout } = await hopwatch(['--help'])
  assert.equal(code, 0)
  for (const command of ['proxy', 'sql', 'init']) assert.match(stdout, new RegExp(`^  ${command} `, 'm'))
})

test('a malformed config stops the proxy with exit code 2 and names each field', async () => {
  const bad = join(dir, 'bad.yaml')
  await writeFile(bad, 'upstreams:\n  - { name: llm, component: lmm, target: "ftp://x", prefix: /llm }\nproxy: { prot: 1 }\n')
  const { code, stderr } = await hopwatch(['proxy', '--config', bad])
  assert.equal(code, 2)
  assert.match(stderr, /HW_CONFIG_INVALID/)
  for (const field of ['upstreams\\[0\\]\\.component', 'upstreams\\[0\\]\\.target', 'proxy\\.prot']) assert.match(stderr, new RegExp(field))
})

test('the proxy records hops in the embedded store, sql reaches it through the proxy, and no planted credential reaches a table, a spill file, its output, /metrics or its stats', async (t) => {
  const proxy = await startHopwatch(['proxy'], /listening on (http:\/\/[\d.:]+)/, dir)
  // a failed assertion must not leave the proxy running (and the test file waiting for it)
  t.after(() => {
    if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL')
  })
  const url = proxy.match[1]!
  const res = await fetch(`${url}/llm/chat/completions?api_key=${SECRETS[4]}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SECRETS[0]}`, 'api-key': SECRETS[1], 'xi-api-key': SECRETS[2], cookie: `session=${SECRETS[3]}`, 'x-api-key': SECRETS[12], 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-test', stream: true, api_key: SECRETS[6], messages: [{ role: 'user', content: 'hi' }] }),
  })
  assert.equal(res.status, 200)
  await res.text()
  assert.equal(llm.marks.at(-1)?.requestHeaders.authorization, `Bearer ${SECRETS[0]}`, 'credentials are forwarded')

  const ws = new WebSocket(`${url.replace('http:', 'ws:')}/stt/v1/listen?token=${SECRETS[5]}&encoding=linear16&sample_rate=16000`, ['token', SECRETS[5]])
  await new Promise((r) => ws.once('open', r))
  ws.send(Buffer.alloc(640))
  // the caller asks for its transcript: an exchange (silence that is never finalized is no hop)
  ws.send(JSON.stringify({ type: 'Finalize' }))
  await new Promise((r) => ws.once('message', r))
  ws.send(JSON.stringify({ type: 'CloseStream' }))
  await new Promise((r) => ws.once('close', r))

  const second = await hopwatch(['proxy', '--port', '0'], dir)
  assert.equal(second.code, 1)
  assert.match(second.stderr, new RegExp(`HW_STORE_LOCKED: the store .* is owned by hopwatch process ${proxy.child.pid}`))
  // the clean message alone: the engine never tried the locked directory (it would print "Cannot lock file" first)
  assert.match(second.stderr, /^hopwatch: HW_STORE_LOCKED: .*go through it by themselves.*\n$/)

  let count = 0
  for (let i = 0; i < 50 && count < 2; i++) {
    const viaProxy = await hopwatch(['sql', 'SELECT count() AS n FROM hopwatch.hops'], dir)
    assert.equal(viaProxy.code, 0, viaProxy.stderr)
    count = (JSON.parse(viaProxy.stdout) as { n: number }).n
    if (count < 2) await new Promise((r) => setTimeout(r, 100))
  }
  assert.equal(count, 2, 'hopwatch sql answered through the proxy that owns the store')

  // an agent's span carrying credentials the ways real instrumentations do
  const attr = (key: string, value: unknown) => ({ key, value: typeof value === 'string' ? { stringValue: value } : value })
  const span = {
    traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), name: 'llm_request', kind: 3, startTimeUnixNano: '1800000000000000000', endTimeUnixNano: '1800000000500000000',
    attributes: [
      attr('http.request.header.authorization', { arrayValue: { values: [{ stringValue: `Bearer ${SECRETS[7]}` }] } }),
      attr('url.full', `https://api.example.com/v1/chat?api_key=${SECRETS[8]}`),
      attr('accessToken', SECRETS[9]),
      attr('http', { kvlistValue: { values: [attr('request', { kvlistValue: { values: [attr('headers', { kvlistValue: { values: [attr('authorization', `Basic ${SECRETS[10]}`)] } })] } })] } }),
    ],
    events: [{ name: 'exception', timeUnixNano: '1800000000400000000', attributes: [attr('exception.message', `401 for Authorization: Bearer ${SECRETS[11]}`)] }],
  }
  const otlp = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [attr('service.name', 'agent')] }, scopeSpans: [{ scope: { name: 'livekit-agents' }, spans: [span] }] }] }) })
  assert.equal(otlp.status, 200, await otlp.text())

  const metrics = await (await fetch(`${url}/metrics`)).text()
  assert.match(metrics, /hopwatch_hops_total\{upstream="llm",component="llm",status_class="2xx"\} 1/)
  assert.match(metrics, /hopwatch_component_latency_seconds_count\{upstream="llm",component="llm"\} 1/)
  assert.match(metrics, /hopwatch_store_rows_total\{table="hops",outcome="written"\} 2/)
  // the name cache's series are there (its upstreams are addresses, so nothing was looked up)
  assert.match(metrics, /^hopwatch_upstream_dns_lookups_total\{outcome="resolved"\} 0$/m)

  const owner = JSON.parse(await readFile(join(dir, 'data', 'hopwatch-owner.json'), 'utf8')) as { admin_url: string; admin_token: string }
  const stats = await (await fetch(`${owner.admin_url}/_hopwatch/stats`, { headers: { authorization: `Bearer ${owner.admin_token}` } })).text()
  proxy.child.kill('SIGTERM')
  assert.equal(await proxy.exited, 0, proxy.output().stderr)
  // two proxied hops, and the agent's LLM span as a hop of its own (it called no proxy port: nothing to join)
  assert.match(proxy.output().stdout, /hops\s+3\s+3\s+0\s+0\s+0/)
  assert.match(proxy.output().stdout, /spans\s+1\s+1\s+0\s+0\s+0/)
  const { stdout, stderr } = proxy.output()
  for (const [where, text] of [['/metrics', metrics], ['/_hopwatch/stats', stats], ['stdout', stdout], ['stderr', stderr]] as const) {
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} must not be in ${where}`)
  }

  // the directory is free again: sql opens it itself
  const dump: string[] = []
  for (const table of ['hops', 'runs', 'turns', 'steps', 'resource_samples', 'alerts', 'spans']) {
    const all = await hopwatch(['sql', `SELECT * FROM hopwatch.${table}`], dir)
    assert.equal(all.code, 0, all.stderr)
    dump.push(all.stdout)
  }
  const stored = dump.join('\n')
  assert.match(stored, /"route":"\\\/v1\\\/listen"/)
  assert.match(stored, /"name":"llm_request"/, 'the span was stored (redacted)')
  for (const secret of SECRETS) assert.ok(!stored.includes(secret), `${secret} must not be stored`)
  // every file the store directory holds besides the engine's own data: spill, dead letters, the owner file
  const { readdir } = await import('node:fs/promises')
  const files = (await readdir(join(dir, 'data'), { recursive: true })).filter((f) => /(^|\/)(spill|dead-letter)(\/|$)|\.jsonl?$/.test(f))
  for (const file of files) {
    const text = await readFile(join(dir, 'data', file), 'utf8').catch(() => '')
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} must not be in ${file}`)
  }
})

test('a failing query prints its code and exits 1', async () => {
  const { code, stderr } = await hopwatch(['sql', 'SELECT nope FROM hopwatch.hops'], dir)
  assert.equal(code, 1)
  assert.match(stderr, /HW_STORE_QUERY/)
})

test('hopwatch sql prints JSON lines by default off a terminal, CSV (RFC 4180 quoting) or an aligned table when asked', async () => {
  const statement = "SELECT number AS n, concat('a,\"b\"', toString(number)) AS s FROM system.numbers LIMIT 2"
  const json = await hopwatch(['sql', statement], dir)
  assert.equal(json.code, 0, json.stderr)
  assert.deepEqual(json.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [{ n: 0, s: 'a,"b"0' }, { n: 1, s: 'a,"b"1' }])
  const csv = await hopwatch(['sql', '--format', 'csv', statement], dir)
  assert.equal(csv.stdout, 'n,s\r\n0,"a,""b""0"\r\n1,"a,""b""1"\r\n')
  const table = await hopwatch(['sql', '--format', 'table', statement], dir)
  assert.equal(table.stdout, '  n  s\n  0  a,"b"0\n  1  a,"b"1\n')
  const bad = await hopwatch(['sql', '--format', 'jsno', statement], dir)
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--format takes table, json, csv, got "jsno"\. Did you mean json\?/)
})

test('the proxy warns at start about an upstream it cannot reach, naming it and its target, and serves the others', async (t) => {
  const config = join(dir, 'down.yaml')
  await writeFile(config, `proxy: { port: 0 }\nstore: { dir: ./data-down }\nupstreams:\n  - { name: llm, component: llm, adapter: openai, target: "${llm.url}/v1", prefix: /llm }\n  - { name: gone, component: backend, target: "http://127.0.0.1:9", prefix: /gone }\n`)
  const proxy = await startHopwatch(['proxy', '--config', config], /listening on (http:\/\/[\d.:]+)/, dir)
  t.after(() => {
    if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL')
  })
  const warned = await new Promise<string>((resolve) => {
    const look = () => (/warning: upstream gone/.test(proxy.output().stderr) ? resolve(proxy.output().stderr) : setTimeout(look, 50))
    look()
  })
  assert.match(warned, /hopwatch: warning: upstream gone \(http:\/\/127\.0\.0\.1:9\) is not reachable: ECONNREFUSED/)
  assert.doesNotMatch(warned, /upstream llm/)
  proxy.child.kill('SIGTERM')
  assert.equal(await proxy.exited, 0)
})

test('a proxy on a ClickHouse server never loads the embedded engine (chDB, some 500 MB): it is loaded only when used, and then its threads run at nice 19', async (t) => {
  const config = join(dir, 'server-store.yaml')
  await writeFile(config, `proxy: { port: 0 }\nstore: { clickhouse: { url: "http://127.0.0.1:9" }, spill_dir: ./spill-server }\nupstreams:\n  - { name: llm, component: llm, adapter: openai, target: "${llm.url}/v1", prefix: /llm }\n`)
  const proxy = await startHopwatch(['proxy', '--config', config], /listening on (http:\/\/[\d.:]+)/, dir)
  t.after(() => {
    if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL')
  })
  const maps = await readFile(`/proc/${proxy.child.pid}/maps`, 'utf8')
  assert.doesNotMatch(maps, /libchdb/)
  const embedded = await startHopwatch(['proxy', '--port', '0', '--store', './data-lazy'], /listening on (http:\/\/[\d.:]+)/, dir)
  t.after(() => {
    if (embedded.child.exitCode === null) embedded.child.kill('SIGKILL')
  })
  assert.match(await readFile(`/proc/${embedded.child.pid}/maps`, 'utf8'), /libchdb/, 'the check can see the engine when it is loaded')
  // and the engine's threads record at the lowest priority (a sidecar forwards first)
  const lowered = threadsOf(embedded.child.pid as number).filter((t) => !NODE_THREADS.has(t.comm) && t.nice === ENGINE_NICE)
  assert.ok(lowered.length >= 4, `${lowered.length} of the embedded proxy's engine threads at nice ${ENGINE_NICE}`)
  for (const p of [proxy, embedded]) p.child.kill('SIGTERM')
  const codes = await Promise.all([proxy.exited, embedded.exited])
  assert.deepEqual(codes, [0, 0], `${proxy.output().stderr}\n${embedded.output().stderr}`)
})
