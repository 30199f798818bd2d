import assert from 'node:assert/strict'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Analysis } from '../../src/analyze/index.js'
import { ClickHouseServer } from '../support/clickhouse-server.js'
import { hopwatch, startHopwatch } from '../support/cli.js'
import { loadCommand, proxyCommand, SCALE_OUT_PROFILE } from '../support/commands.js'
import { simStackConfig } from '../support/config-files.js'

/** The ramp every shard runs its third of (start 10, ×1.3): the run's load per step is the sum of the shards'. */
const RAMP = [10, 13, 17, 22]

/** The default preset's stack with fewer LLM workers (4): it saturates between 13 and 17 conversations, inside this test's ramp. */
const SIM_YAML = `seed: 7
services:
  - { name: stt, kind: stt, workers: 64, queue: 512, latency: { median_ms: 120, p95_ms: 250 } }
  - { name: llm, kind: llm, workers: 4, queue: 1000, ttft: { median_ms: 220, p95_ms: 450 }, tokens_per_s: 100, reply_words: { min: 10, max: 30 } }
  - { name: tts, kind: tts, workers: 64, queue: 512, ttfb: { median_ms: 90, p95_ms: 180 }, realtime_factor: 0.1 }
  - { name: backend, kind: backend, workers: 100, queue: 0, latency: { median_ms: 40, p95_ms: 100 } }
`

test('three generators and two proxies make one run in a two-shard ClickHouse cluster: the shards start together, their steps add up, hops join turns across proxies, and the run analysed as one names the planted LLM first', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-scale-'))
  const cluster = await ClickHouseServer.cluster(2, 'hw_scale')
  t.after(async () => {
    for (const s of cluster) await s.destroy()
  })
  await writeFile(join(dir, 'sim.yaml'), SIM_YAML)
  const sim = await startHopwatch(['sim', '--config', join(dir, 'sim.yaml'), '--urls-out', join(dir, 'urls.json')], /^hopwatch sim: ready/m)
  t.after(() => {
    if (sim.child.exitCode === null) sim.child.kill('SIGKILL')
  })
  const services = (JSON.parse(await readFile(join(dir, 'urls.json'), 'utf8')) as { services: Array<{ kind: string; url: string }> }).services
  const url = (kind: string) => services.find((s) => s.kind === kind)?.url ?? ''
  const nodes = cluster.map((s) => `"${s.url}"`).join(', ')
  // inserts once a second: at flush_ms 100 (ten inserts a second per writer, each fanned out to both shards) the host's
  // CPU reached 98 % by 10 conversations at 8×; at 1000 it stayed at 39–56 % up to 16
  await writeFile(join(dir, 'hopwatch.yaml'), simStackConfig(url, `{ clickhouse: { url: "${cluster[0]?.url}", cluster: hw_scale, nodes: [${nodes}] }, flush_ms: 1000 }`))
  // one proxy per agent pod, the sidecar pattern: each records the hops of the callers that go through it
  const proxies = await Promise.all([0, 1].map(() => startHopwatch(proxyCommand('hopwatch.yaml'), /listening on (http:\/\/[\d.:]+)/, dir)))
  t.after(() => {
    for (const p of proxies) if (p.child.exitCode === null) p.child.kill('SIGKILL')
  })
  // three generators, one start instant: shard i drives a third of every step, through proxy i mod 2
  const startAt = new Date(Date.now() + 6000).toISOString()
  const loads = await Promise.all(
    [1, 2, 3].map((i) =>
      hopwatch(loadCommand({ config: 'hopwatch.yaml', proxyUrl: proxies[i % 2]?.match[1] ?? '', runId: 'scale', startAt, profile: [...SCALE_OUT_PROFILE, '--seed', String(i)], shard: `${i}/3` }), dir),
    ),
  )
  for (const [i, l] of loads.entries()) {
    assert.equal(l.code, 0, `shard ${i + 1}: ${l.stderr}`)
    assert.match(l.stdout, new RegExp(`shard ${i + 1}/3`))
    assert.match(l.stdout, /waiting for the common start/)
  }
  for (const p of proxies) p.child.kill('SIGTERM')
  for (const p of proxies) assert.equal(await p.exited, 0, p.output().stderr)

  const store = ['--clickhouse-url', cluster[0]?.url ?? '', '--clickhouse-cluster', 'hw_scale', '--clickhouse-nodes', cluster.map((s) => s.url).join(',')]
  const sql = async (query: string) => {
    const r = await hopwatch(['sql', query, '--format', 'json', ...store], dir)
    assert.equal(r.code, 0, r.stderr)
    return r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
  }
  // every shard recorded every step; the two proxies both recorded hops, and the hops landed on both ClickHouse shards
  const shards = await sql("SELECT step, arraySort(groupArray(shard)) AS shards FROM hopwatch.steps WHERE run_id = 'scale' GROUP BY step ORDER BY step")
  assert.deepEqual(shards, RAMP.map((_, step) => ({ step, shards: ['1/3', '2/3', '3/3'] })))
  const byProxy = await sql("SELECT proxy, count() AS hops FROM hopwatch.hops WHERE run_id = 'scale' GROUP BY proxy ORDER BY proxy")
  assert.equal(byProxy.length, 2, JSON.stringify(byProxy))
  for (const node of cluster) {
    const res = await fetch(`${node.url}/?query=${encodeURIComponent("SELECT count() FROM hopwatch.hops_local WHERE run_id = 'scale'")}`)
    assert.ok(Number((await res.text()).trim()) > 0, `a ClickHouse shard holds none of the hops`)
  }

  const a = await hopwatch(['analyze', '--run', 'scale', '--format', 'json', ...store], dir)
  assert.equal(a.code, 0, a.stderr)
  const analysis = JSON.parse(a.stdout) as Analysis
  // the run's load per step is the sum of the shards' thirds
  assert.deepEqual(analysis.steps.map((s) => s.load), RAMP)
  for (const step of analysis.steps) {
    for (const component of ['stt', 'llm', 'tts'] as const) assert.ok((step.components[component]?.n ?? 0) > 0, `step ${step.step}: no ${component} hops joined to its turns across the proxies`)
  }
  // the planted bottleneck: the LLM, with 3 workers, is named first. On a host whose CPU is saturated (these are
  // eight processes on the test machine's two cores) a step is no evidence and the analysis says it cannot tell, and
  // why: that, and only that, is accepted instead; never another component, never a shard's fault
  for (const s of analysis.invalid_steps) assert.doesNotMatch(s.reason, /shard/, `the shards started together: ${s.reason}`)
  if (analysis.first_degraded !== undefined) assert.equal(analysis.first_degraded.component, 'llm', analysis.verdict)
  else {
    assert.equal(analysis.confidence, 'cannot_tell', analysis.verdict)
    assert.ok(analysis.invalid_steps.length > 0 && analysis.invalid_steps.every((s) => /CPU/.test(s.reason)), analysis.verdict)
  }
  process.stdout.write(`# scale-out run: ${analysis.verdict}\n`)
  sim.child.kill('SIGTERM')
  await sim.exited
})
