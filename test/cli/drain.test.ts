import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { hopwatch, startHopwatch } from '../support/cli.js'
import { listenHttp } from '../support/servers.js'

test('SIGTERM under load: the proxy lets in-flight hops finish, answers every caller, writes every row and exits 0', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-drain-'))
  let arrived = 0
  // each answer takes 1.5 s: the signal comes while all of them are in flight
  const slow = await listenHttp((req, res) => {
    arrived++
    req.resume()
    setTimeout(() => res.end('{"ok":true}'), 1500)
  })
  t.after(() => slow.close())
  await writeFile(join(dir, 'hopwatch.yaml'), `proxy: { port: 0 }\nstore: { dir: ./data }\nalerts: { sinks: { log: false } }\nupstreams:\n  - { name: api, component: backend, target: "${slow.url}", prefix: /api }\n`)
  const proxy = await startHopwatch(['proxy', '--run-id', 'drain'], /listening on (http:\/\/[\d.:]+)/, dir)
  t.after(() => {
    if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL')
  })
  const calls = Array.from({ length: 40 }, (_, i) => fetch(`${proxy.match[1]}/api/x${i}`, { method: 'POST', body: 'x' }).then(async (r) => [r.status, await r.text()] as const))
  while (arrived < 40) await new Promise((r) => setTimeout(r, 20))
  proxy.child.kill('SIGTERM')
  const answers = await Promise.all(calls)
  assert.deepEqual(new Set(answers.map(([status, body]) => `${status} ${body}`)), new Set(['200 {"ok":true}']))
  assert.equal(await proxy.exited, 0, proxy.output().stderr)
  assert.match(proxy.output().stdout, /hops\s+40\s+40\s+0\s+0\s+0/)
  const stored = await hopwatch(['sql', "SELECT count() AS n, countIf(status = 200 AND error_kind = '') AS ok FROM hopwatch.hops WHERE run_id = 'drain'"], dir)
  assert.deepEqual(JSON.parse(stored.stdout), { n: 40, ok: 40 })
})

test('a SIGTERM the moment the proxy says it is listening still stops it cleanly: exit 0, its rows accounted for', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-drain-'))
  // a ClickHouse server that is not there: the proxy starts at once (no engine to load), and its rows spill
  await writeFile(join(dir, 'hopwatch.yaml'), 'proxy: { port: 0 }\nstore: { clickhouse: { url: "http://127.0.0.1:9" }, spill_dir: ./spill }\nalerts: { sinks: { log: false } }\nupstreams:\n  - { name: api, component: backend, target: "http://127.0.0.1:9", prefix: /api }\n')
  // the signal used to come before the handler was installed, in the few lines after the "listening" line (one start
  // in eight here, four in eight on a busy machine): eight starts, each signalled as soon as the line is read
  for (let i = 0; i < 8; i++) {
    const proxy = await startHopwatch(['proxy'], /listening on/, dir)
    proxy.child.kill('SIGTERM')
    assert.equal(await proxy.exited, 0, `start ${i}: ${proxy.output().stderr}`)
    assert.match(proxy.output().stdout, /hopwatch: stopping/)
  }
})
