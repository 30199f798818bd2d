import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { COMPONENT_LATENCY } from '../src/latency.js'
import { DESIGN_SLOS } from '../src/slos.js'

const architecture = () => readFile(new URL('../../docs/architecture.md', import.meta.url), 'utf8')

/** The rows of the markdown table that follows a marker comment. */
function tableAfter(text: string, marker: string): string[][] {
  const at = text.indexOf(marker)
  assert.ok(at >= 0, `no ${marker}`)
  const lines = text.slice(at).split('\n').slice(1)
  const rows: string[][] = []
  for (const line of lines.slice(2)) {
    if (!line.startsWith('|')) break
    rows.push(line.split('|').slice(1, -1).map((c) => c.trim()))
  }
  return rows
}

test('docs/architecture.md states each component\'s latency exactly as src/latency.ts defines it', async () => {
  const rows = tableAfter(await architecture(), '<!-- generated from COMPONENT_LATENCY')
  const fromCode = Object.entries(COMPONENT_LATENCY).map(([component, d]) => [component, d.from.join(', else '), d.to])
  assert.deepEqual(rows, fromCode)
})

test('docs/architecture.md states the default SLOs exactly as src/slos.ts holds them', async () => {
  const rows = tableAfter(await architecture(), '<!-- generated from DESIGN_SLOS')
  const c = DESIGN_SLOS.components_p95_ms
  assert.deepEqual(rows, [
    ['response p95', `${DESIGN_SLOS.response_p95_ms} ms`],
    ...Object.entries(c).map(([name, ms]) => [`${name} p95`, `${ms} ms`]),
    ['success', `${DESIGN_SLOS.success_min * 100} % of turns`],
  ])
})

test('no code or document cites a DESIGN.md the repository does not have', async () => {
  const { spawnSync } = await import('node:child_process')
  const grep = spawnSync('git', ['grep', '-n', 'DESIGN\\.md', '--', 'src', 'docs', 'README.md', 'test', 'scripts'], { cwd: new URL('../..', import.meta.url), encoding: 'utf8' })
  assert.ok(grep.status === 0 || grep.status === 1, grep.stderr)
  assert.deepEqual(grep.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('test/docs.test.ts')), [])
})

test('every single-key default in docs/reference.md\'s config table is the default the config takes', async () => {
  const { validateConfig } = await import('../src/config/index.js')
  const { ADAPTER_NAMES } = await import('../src/proxy/index.js')
  const config = validateConfig({ upstreams: [{ name: 'x', component: 'llm', target: 'http://127.0.0.1:9', prefix: '/x' }] }, 'test', { adapters: ADAPTER_NAMES }) as unknown as Record<string, unknown>
  const doc = await readFile(new URL('../../docs/reference.md', import.meta.url), 'utf8')
  const table = doc.slice(doc.indexOf('## Config reference'))
  let checked = 0
  for (const [, key, shown] of table.matchAll(/^\| `([a-z_.]+)` \| ([^|]+) \|/gm)) {
    if (key === undefined || shown === undefined || key.startsWith('upstreams')) continue
    const value = key.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], config)
    if (value === undefined || typeof value === 'object') continue
    let text = shown.trim().replace(/ \(.*\)$/, '').replace(/^`(.*)`$/, '$1').replace(/^"(.*)"$/, '$1')
    const size = /^(\d+) (KiB|MiB|GiB)$/.exec(text)
    if (size !== null) text = String(Number(size[1]) * 1024 ** (['KiB', 'MiB', 'GiB'].indexOf(size[2] as string) + 1))
    assert.equal(text, String(value), `docs/reference.md says ${key} defaults to ${shown.trim()}`)
    checked++
  }
  assert.ok(checked >= 20, `only ${checked} defaults were checked`)
})
