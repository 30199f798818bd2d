import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Analysis } from '../../src/analyze/index.js'
import { hopwatch } from '../support/cli.js'

const KIB = 1024
const LEAK_BYTES = 256 * KIB

/** The LLM leaks 256 KiB a request in its own process; the TTS runs in its own process too, without a leak. */
const SIM = `seed: 11
services:
  - { name: stt, kind: stt, workers: 64, queue: 512, latency: { median_ms: 120, p95_ms: 250 } }
  - { name: llm, kind: llm, process: separate, workers: 16, queue: 100, ttft: { median_ms: 150, p95_ms: 300 }, tokens_per_s: 200, reply_words: { min: 5, max: 12 }, leak: { bytes_per_request: ${LEAK_BYTES} } }
  - { name: tts, kind: tts, process: separate, workers: 64, queue: 512, ttfb: { median_ms: 90, p95_ms: 180 }, realtime_factor: 0.1 }
  - { name: backend, kind: backend, workers: 100, queue: 0, latency: { median_ms: 40, p95_ms: 100 } }
`

test('a compressed soak: the analyzer finds the planted leak in the simulator\'s LLM process within 25 % of its rate, and the TTS process beside it flat', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-soak-'))
  await writeFile(join(dir, 'sim.yaml'), SIM)
  await writeFile(join(dir, 'hopwatch.yaml'), `proxy: { port: 0 }\nstore: { dir: ${join(dir, 'store')} }\nresources: { interval_s: 1 }\nalerts: { sinks: { log: false } }\n`)
  const config = join(dir, 'hopwatch.yaml')
  // 25 minutes at 4 conversations, 10× compressed: 150 s of samples
  const r = await hopwatch(['run', '--sim', '--sim-config', join(dir, 'sim.yaml'), '--config', config, '--profile', 'soak', '--level', '4', '--duration-s', '1500', '--time-scale', '10', '--run-id', 'soak-leak'])
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
  const a = await hopwatch(['analyze', '--config', config, '--run', 'soak-leak', '--format', 'json'])
  assert.equal(a.code, 0, a.stderr)
  const analysis = JSON.parse(a.stdout) as Analysis
  const trend = (target: string) => analysis.resources?.trends.find((t) => t.target === target && t.metric === 'rss_bytes')
  const leak = trend('sim-llm')
  assert.equal(analysis.resources?.constant_load, true)
  assert.equal(leak?.verdict, 'rising', JSON.stringify(leak))
  assert.ok((leak?.p ?? 1) < 0.01)

  // the planted rate: LLM requests over the span the trend was fitted to (the samples after the warm-up), × the leak
  const span = await hopwatch(['sql', '--config', config, "SELECT min(at_us) AS first, max(at_us) AS last FROM hopwatch.resource_samples WHERE run_id = 'soak-leak' AND target = 'sim-llm' AND metric = 'rss_bytes'"])
  const { first, last } = JSON.parse(span.stdout) as { first: number; last: number }
  const from = first + 0.1 * (last - first)
  const count = await hopwatch(['sql', '--config', config, `SELECT count() AS n FROM hopwatch.hops WHERE run_id = 'soak-leak' AND upstream = 'llm' AND start_us >= ${Math.round(from)} AND start_us <= ${last}`])
  const { n } = JSON.parse(count.stdout) as { n: number }
  const plantedPerHour = ((n * LEAK_BYTES) / ((last - from) / 1e6)) * 3600
  const measured = leak?.slope_per_hour ?? 0
  assert.ok(Math.abs(measured - plantedPerHour) <= 0.25 * plantedPerHour, `measured ${(measured / 1024 / 1024).toFixed(0)} MB/h, planted ${(plantedPerHour / 1024 / 1024).toFixed(0)} MB/h (${n} LLM requests)`)

  t.diagnostic(`planted ${(plantedPerHour / 1024 / 1024).toFixed(0)} MB/h (${n} LLM requests × 256 KiB over ${((last - from) / 1e6).toFixed(0)} s), measured ${(measured / 1024 / 1024).toFixed(0)} MB/h; sim-tts ${JSON.stringify(trend('sim-tts'))}`)
  assert.equal(trend('sim-tts')?.verdict, 'flat', JSON.stringify(trend('sim-tts')))
  assert.match(analysis.verdict, /sim-llm's memory is rising \d+ MB\/h/)
  assert.match(r.stdout, /sim-llm +rss_bytes +\d+ MB +rising/)
})
