import assert from 'node:assert/strict'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { hopwatch, startHopwatch } from '../support/cli.js'

test('hopwatch sim --preset default starts every service, writes their URLs, and stops cleanly on SIGTERM', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-sim-'))
  const urlsFile = join(dir, 'urls.json')
  const sim = await startHopwatch(['sim', '--preset', 'default', '--urls-out', urlsFile, '--seed', '9'], /^hopwatch sim: ready/m)
  const urls = JSON.parse(await readFile(urlsFile, 'utf8')) as { seed: number; services: Array<{ name: string; kind: string; url: string }> }
  assert.equal(urls.seed, 9)
  assert.deepEqual(urls.services.map((s) => s.kind), ['stt', 'llm', 'tts', 's2s', 'backend'])
  for (const service of urls.services) {
    const health = (await (await fetch(`${service.url}/healthz`)).json()) as { kind: string }
    assert.equal(health.kind, service.kind)
  }
  sim.child.kill('SIGTERM')
  assert.equal(await sim.exited, 0)
})

test('hopwatch sim with a malformed config exits 2 naming the field', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-sim-'))
  await writeFile(join(dir, 'sim.yaml'), 'services:\n  - { name: llm, kind: llm, tokens_per_s: fast }\n')
  const { code, stderr } = await hopwatch(['sim', '--config', join(dir, 'sim.yaml')])
  assert.equal(code, 2)
  assert.match(stderr, /HW_CONFIG_INVALID: .*sim\.yaml has 1 problem:\n  - services\[0\]\.tokens_per_s: "fast" must be a number/)
})

test('hopwatch sim without a config or preset is a usage error', async () => {
  const { code, stderr } = await hopwatch(['sim'])
  assert.equal(code, 2)
  assert.match(stderr, /HW_CLI_USAGE: give exactly one of --config FILE or --preset NAME/)
})

/** A base port whose next `count` ports are all free now (each bound once and released). */
async function freePortRun(count: number): Promise<number> {
  const { createServer } = await import('node:net')
  const bind = (port: number) => new Promise<import('node:net').Server | undefined>((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(undefined))
    s.listen(port, '127.0.0.1', () => resolve(s))
  })
  for (let base = 20_000 + Math.floor(Math.random() * 20_000); ; base += count) {
    const held = await Promise.all(Array.from({ length: count }, (_, i) => bind(base + i)))
    await Promise.all(held.map((s) => new Promise((r) => (s === undefined ? r(undefined) : s.close(r)))))
    if (held.every((s) => s !== undefined)) return base
  }
}

test('hopwatch sim --port BASE puts the services on fixed ports in order, and init --from-sim writes a config the proxy serves them with', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-sim-'))
  const base = await freePortRun(5)
  const sim = await startHopwatch(['sim', '--preset', 'default', '--port', String(base), '--urls-out', join(dir, 'sim.json')], /^hopwatch sim: ready/m)
  t.after(() => {
    if (sim.child.exitCode === null) sim.child.kill('SIGKILL')
  })
  const urls = JSON.parse(await readFile(join(dir, 'sim.json'), 'utf8')) as { services: Array<{ name: string; url: string }> }
  assert.deepEqual(urls.services.map((s) => [s.name, s.url]), ['stt', 'llm', 'tts', 's2s', 'backend'].map((name, i) => [name, `http://127.0.0.1:${base + i}`]))

  const init = await hopwatch(['init', '--from-sim', 'sim.json'], dir)
  assert.equal(init.code, 0, init.stderr)
  const yaml = await readFile(join(dir, 'hopwatch.yaml'), 'utf8')
  assert.match(yaml, new RegExp(`name: llm, component: llm, adapter: openai, target: "http://127.0.0.1:${base + 1}/v1", prefix: /llm`))
  await writeFile(join(dir, 'hopwatch.yaml'), yaml.replace('port: 8787', 'port: 0'))
  const proxy = await startHopwatch(['proxy'], /listening on (http:\/\/[\d.:]+)/, dir)
  t.after(() => {
    if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL')
  })
  const res = await fetch(`${proxy.match[1]}/llm/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'sim', messages: [{ role: 'user', content: 'hi' }] }) })
  assert.equal(res.status, 200)
  assert.match(await res.text(), /"choices"/)
  proxy.child.kill('SIGTERM')
  assert.equal(await proxy.exited, 0)
  sim.child.kill('SIGTERM')
  assert.equal(await sim.exited, 0)
})

test('hopwatch init --from-sim with a file that is not a simulator\'s URLs is a usage error naming the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-sim-'))
  await writeFile(join(dir, 'bad.json'), '{"services": [{"name": "llm", "kind": "llm", "url": "ftp://x"}]}')
  const r = await hopwatch(['init', '--from-sim', 'bad.json'], dir)
  assert.equal(r.code, 2)
  assert.match(r.stderr, /HW_CLI_USAGE: --from-sim bad\.json does not list services/)
})
