import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { RunningProxy } from '../../src/proxy/index.js'
import { queryJsonLines, type Store } from '../../src/store/index.js'
import { readOwner, writeOwner } from '../../src/store/owner.js'
import { readOnlyStatement } from '../../src/store/read-only-sql.js'
import { ENGINES, type EngineUnderTest } from '../support/engines.js'
import { startTestProxy } from '../support/proxy.js'
import { listenHttp, type Listening } from '../support/servers.js'

test('the read-only guard refuses writes, files, URLs, other servers, programs, extra statements and its own settings however spelled', () => {
  const refused = [
    "SELECT 1 INTO OUTFILE '/tmp/x'",
    "select 1 into/**/outfile '/tmp/x'",
    'INSERT INTO hopwatch.runs (run_id) VALUES (1)',
    'CREATE TABLE hopwatch.x (a UInt8) ENGINE = Memory',
    'DROP TABLE hopwatch.runs',
    'ALTER TABLE hopwatch.runs DELETE WHERE 1',
    "SELECT * FROM file('/etc/passwd')",
    "SELECT * FROM FiLe ('/etc/passwd', 'CSV')",
    "SELECT * FROM `file`('/etc/passwd')",
    "SELECT * FROM \"url\"('http://127.0.0.1:1/', 'CSV', 'a String')",
    "SELECT * FROM remoteSecure('127.0.0.1:1', system.one)",
    "SELECT * FROM s3Cluster('c', 'http://x/y')",
    "SELECT * FROM executable('sh', 'CSV', 'a String')",
    'SELECT 1; DROP TABLE hopwatch.runs',
    'SELECT 1 SETTINGS readonly = 0',
    'SELECT 1 FORMAT CSV',
    "SELECT 1 /* unterminated",
    'SYSTEM SHUTDOWN',
    "SELECT 'a' -- ; DROP\n; DROP TABLE x",
  ]
  for (const sql of refused) assert.throws(() => readOnlyStatement(sql), /./, sql)
  // keywords inside strings and comments are data, not statements
  assert.match(readOnlyStatement("SELECT 'INTO OUTFILE file(x); DROP' AS s -- settings\n"), /^SELECT \* FROM \(\n/)
  assert.equal(readOnlyStatement('SHOW TABLES FROM hopwatch;'), 'SHOW TABLES FROM hopwatch')
  assert.match(readOnlyStatement('SELECT format(\'{}\', 1) AS f'), /readonly = 1$/)
  assert.match(readOnlyStatement('SELECT name FROM system.settings'), /readonly = 1$/)
})

for (const makeEngine of ENGINES) {
  describe(`the admin API, on the ${makeEngine === ENGINES[0] ? 'embedded engine' : 'Debian ClickHouse server'}`, () => {
    let engine: EngineUnderTest
    let store: Store
    let proxy: RunningProxy
    let trap: Listening & { connections: number }
    let dir: string
    before(async () => {
      engine = await makeEngine()
      store = await engine.open()
      dir = await mkdtemp(join(tmpdir(), 'hopwatch-admin-'))
      const listening = await listenHttp((_req, res) => res.end('a,b\n'))
      trap = Object.assign(listening, { connections: 0 })
      listening.server.on('connection', () => trap.connections++)
      proxy = await startTestProxy([{ name: 'api', component: 'backend', target: trap.url, prefix: '/api' }], {}, { sql: (s, signal) => queryJsonLines(store, s, signal), stats: () => ({ ok: true }) })
    })
    after(async () => {
      await proxy.close()
      await trap.close()
      await engine.dispose()
    })

    const post = (body: string, headers: Record<string, string>, base = proxy.adminUrl) => fetch(`${base}/_hopwatch/sql`, { method: 'POST', body, headers })
    const authed = { 'content-type': 'application/json', authorization: () => `Bearer ${proxy.adminToken}` }
    const sql = (statement: string) => post(JSON.stringify({ sql: statement }), { 'content-type': 'application/json', authorization: `Bearer ${proxy.adminToken}` })

    test('answers a read-only SELECT as JSON lines, under readonly = 1 and a time limit set by the proxy', async () => {
      const res = await sql("SELECT name, value FROM system.settings WHERE name IN ('readonly', 'max_execution_time') ORDER BY name")
      assert.equal(res.status, 200, await res.clone().text())
      const rows = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { name: string; value: string })
      assert.deepEqual(rows, [{ name: 'max_execution_time', value: '60' }, { name: 'readonly', value: '1' }])
      void authed
    })

    test('refuses every write, file and network attack with 400, and none of them happens', async () => {
      const pwned = join(dir, 'pwned')
      for (const attack of [
        `SELECT 1 INTO OUTFILE '${pwned}'`,
        `select 1 into/**/outfile '${pwned}'`,
        "INSERT INTO hopwatch.runs (run_id) VALUES ('x')",
        'DROP TABLE hopwatch.runs',
        "SELECT * FROM file('/etc/passwd', 'CSV', 'a String')",
        `SELECT * FROM url('http://127.0.0.1:${trap.port}/', 'CSV', 'a String, b String')`,
        `SELECT * FROM remote('127.0.0.1:${trap.port}', system.one)`,
        "SELECT * FROM executable('id', 'CSV', 'a String')",
        'SELECT 1; DROP TABLE hopwatch.runs',
        'SELECT 1 SETTINGS readonly = 0',
      ]) {
        const res = await sql(attack)
        assert.equal(res.status, 400, attack)
        assert.equal(res.headers.get('x-hopwatch-error'), 'HW_PROXY_ADMIN_READ_ONLY', attack)
      }
      assert.equal(existsSync(pwned), false)
      assert.equal(trap.connections, 0)
      const runs = await sql('SELECT count() AS n FROM hopwatch.runs')
      assert.equal(runs.status, 200, 'the runs table is still there')
    })

    test('a web page cannot call it: a browser\'s no-cors POST (Origin, Sec-Fetch-Site, text/plain) is refused before anything runs', async () => {
      const pwned = join(dir, 'pwned-by-page')
      const browser = { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'content-type': 'text/plain;charset=UTF-8' }
      const res = await post(`SELECT 1 INTO OUTFILE '${pwned}'`, browser)
      assert.equal(res.status, 403)
      assert.equal(res.headers.get('x-hopwatch-error'), 'HW_PROXY_ADMIN_CROSS_SITE')
      // even a page that somehow had the token is refused, by its Origin
      assert.equal((await post(JSON.stringify({ sql: 'SELECT 1' }), { ...browser, 'content-type': 'application/json', authorization: `Bearer ${proxy.adminToken}` })).status, 403)
      assert.equal((await post(JSON.stringify({ sql: 'SELECT 1' }), { 'sec-fetch-site': 'same-site', 'content-type': 'application/json', authorization: `Bearer ${proxy.adminToken}` })).status, 403)
      assert.equal(existsSync(pwned), false)
    })

    test('without the token, or with a wrong one, 401; with it but as a simple text/plain request, 415', async () => {
      const noToken = await post(JSON.stringify({ sql: 'SELECT 1' }), { 'content-type': 'application/json' })
      assert.equal(noToken.status, 401)
      assert.equal(noToken.headers.get('x-hopwatch-error'), 'HW_PROXY_ADMIN_TOKEN')
      assert.equal((await post(JSON.stringify({ sql: 'SELECT 1' }), { 'content-type': 'application/json', authorization: `Bearer ${proxy.adminToken.slice(1)}x` })).status, 401)
      assert.equal((await fetch(`${proxy.adminUrl}/_hopwatch/stats`)).status, 401)
      assert.equal((await fetch(`${proxy.adminUrl}/_hopwatch/stats`, { headers: { authorization: `Bearer ${proxy.adminToken}` } })).status, 200)
      assert.equal((await post('SELECT 1', { 'content-type': 'text/plain', authorization: `Bearer ${proxy.adminToken}` })).status, 415)
    })

    test('the admin API is on its own listener: the proxy port answers /_hopwatch with 404 and runs nothing', async () => {
      assert.notEqual(new URL(proxy.adminUrl).port, new URL(proxy.url).port)
      const res = await post(JSON.stringify({ sql: 'SELECT 1' }), { 'content-type': 'application/json', authorization: `Bearer ${proxy.adminToken}` }, proxy.url)
      assert.equal(res.status, 404)
      assert.equal((await fetch(`${proxy.url}/healthz`)).status, 200)
    })
  })
}

test('the owner file that carries the admin token is readable by its user only (0600), also when it existed before', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-owner-'))
  const { writeFile } = await import('node:fs/promises')
  await writeFile(join(dir, 'hopwatch-owner.json'), '{}', { mode: 0o644 })
  await writeOwner(dir, { pid: process.pid, admin_url: 'http://127.0.0.1:1', admin_token: 't0k3n', started_us: 1 })
  assert.equal((await stat(join(dir, 'hopwatch-owner.json'))).mode & 0o777, 0o600)
  assert.equal((await readOwner(dir))?.admin_token, 't0k3n')
})
