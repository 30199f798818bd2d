import assert from 'node:assert/strict'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Analysis } from '../../src/analyze/index.js'
import { hopwatch, startHopwatch } from '../support/cli.js'
import { simStackConfig } from '../support/config-files.js'

test('hopwatch load beside a proxy that owns the embedded store writes through it: one store holds the turns and the hops, and analyze reads them together', { timeout: 240_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-load-'))
  const sim = await startHopwatch(['sim', '--preset', 'default', '--urls-out', join(dir, 'urls.json'), '--seed', '4'], /^hopwatch sim: ready/m)
  t.after(() => {
    if (sim.child.exitCode === null) sim.child.kill('SIGKILL')
  })
  const services = (JSON.parse(await readFile(join(dir, 'urls.json'), 'utf8')) as { services: Array<{ name: string; kind: string; url: string }> }).services
  const url = (kind: string) => services.find((s) => s.kind === kind)!.url
  await writeFile(join(dir, 'hopwatch.yaml'), simStackConfig(url, '{ dir: ./data, flush_ms: 100 }'))
  const proxy = await startHopwatch(['proxy'], /listening on (http:\/\/[\d.:]+)/, dir)
  t.after(() => {
    if (proxy.child.exitCode === null) proxy.child.kill('SIGKILL')
  })
  const load = await hopwatch(['load', '--proxy-url', proxy.match[1]!, '--run-id', 'beside', '--start', '4', '--factor', '2', '--max', '8', '--step-s', '20', '--time-scale', '4', '--seed', '2'], dir)
  assert.equal(load.code, 0, load.stderr)
  assert.match(load.stdout, /store: embedded ClickHouse at .*data, through the admin API of the process that owns it \(pid \d+/)
  assert.doesNotMatch(load.stderr, /HW_STORE_LOCKED/)

  // while the proxy runs, analyze reads through it too: the generator's turns and the proxy's hops, in one run
  const a = await hopwatch(['analyze', '--run', 'beside', '--format', 'json'], dir)
  assert.equal(a.code === 0 || a.code === 1, true, a.stderr)
  const analysis = JSON.parse(a.stdout) as Analysis
  assert.equal(analysis.steps.length, 2)
  for (const step of analysis.steps) {
    assert.ok((step.turns?.turns ?? 0) > 0, `step ${step.step} has no turns`)
    for (const component of ['stt', 'llm', 'tts'] as const) assert.ok((step.components[component]?.n ?? 0) > 0, `step ${step.step} has no ${component} hops joined to its turns`)
  }
  proxy.child.kill('SIGTERM')
  assert.equal(await proxy.exited, 0, proxy.output().stderr)
  sim.child.kill('SIGTERM')
  await sim.exited
})
