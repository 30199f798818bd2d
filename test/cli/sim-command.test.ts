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
