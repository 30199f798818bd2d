import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { test } from 'node:test'
import { stringify } from 'yaml'
import { hopwatch } from '../support/cli.js'

const run = promisify(execFile)
const PROMTOOL = process.env.HOPWATCH_PROMTOOL ?? '/usr/bin/promtool'
const HELM_RULES = fileURLToPath(new URL('../../../helm/hopwatch/files/hopwatch-rules.yaml', import.meta.url))

/** A GC sawtooth: climbs 20 MB over four scrapes and falls back, for ever at the same floor. */
const sawtooth = Array.from({ length: 101 }, (_, i) => 100_000_000 + (i % 5) * 5_000_000).join(' ')

const series = (name: string, values: string) => ({ series: name, values })
const INPUT = [
  // llm: every hop between 1 s and 2 s, so the bucket-interpolated p95 is 1.95 s; its client_abort errors are the callers'
  series('hopwatch_component_latency_seconds_bucket{component="llm",upstream="llm",le="1"}', '0+0x100'),
  series('hopwatch_component_latency_seconds_bucket{component="llm",upstream="llm",le="2"}', '0+30x100'),
  series('hopwatch_component_latency_seconds_bucket{component="llm",upstream="llm",le="+Inf"}', '0+30x100'),
  series('hopwatch_hops_total{component="llm",upstream="llm",status_class="2xx"}', '0+30x100'),
  series('hopwatch_hop_errors_total{component="llm",upstream="llm",kind="client_abort"}', '0+10x100'),
  // tts: fast, but 10 % of its hops are reset
  series('hopwatch_component_latency_seconds_bucket{component="tts",upstream="tts",le="0.5"}', '0+30x100'),
  series('hopwatch_component_latency_seconds_bucket{component="tts",upstream="tts",le="+Inf"}', '0+30x100'),
  series('hopwatch_hops_total{component="tts",upstream="tts",status_class="2xx"}', '0+27x100'),
  series('hopwatch_hops_total{component="tts",upstream="tts",status_class="none"}', '0+3x100'),
  series('hopwatch_hop_errors_total{component="tts",upstream="tts",kind="reset"}', '0+3x100'),
  // 80 % of turns succeed
  series('hopwatch_turns_total{outcome="success"}', '0+20x100'),
  series('hopwatch_turns_total{outcome="hung_up"}', '0+5x100'),
  series('hopwatch_nodejs_eventloop_lag_p99_seconds{instance="gen:8787",job="hopwatch"}', '0.2x100'),
  // an agent leaking 1 MB a scrape (240 MB/h); hopwatch flat; a GC sawtooth flat underneath
  series('process_resident_memory_bytes{instance="agent:9000",job="agent"}', '100000000+1000000x100'),
  series('process_resident_memory_bytes{instance="gc:9000",job="sawtooth"}', sawtooth),
  series('hopwatch_process_resident_memory_bytes{instance="gen:8787",job="hopwatch"}', '100000000+0x100'),
  // a process started at 12.5 min whose heap grows as fast as the agent's leak, as a heap grows for minutes before its
  // first full collection: at 20 min it has 450 s of samples, too few to tell growth toward a collection from a leak
  series('process_resident_memory_bytes{instance="young:9000",job="young"}', '_x50 100000000+1000000x50'),
]

const alert = (labels: Record<string, string>, annotations: Record<string, string>) => ({ exp_labels: labels, exp_annotations: annotations })
/** The memory alert on `job` (instance `<job>:9000`), as the rule fits it: `rate` over a `window` s fit of per-`floor` s minima. */
const memoryAlert = (job: string, window: number, floor = 75, rate = '228.9') =>
  alert(
    { severity: 'warning', rule: 'memory_rising', instance: `${job}:9000`, job },
    { summary: 'resident memory rising faster than 50 MB/h', description: `${job} ${job}:9000: the lower envelope of resident memory rises ${rate}MiB/h over the last ${window}s (least squares over per-${floor}s minima, so GC cycles do not count), judged once the process has 600s of samples: a heap grows for minutes before its first full collection.` },
  )
const CASES = [
  { eval_time: '20s', alertname: 'HopwatchComponentP95AboveSlo', exp_alerts: [] },
  {
    eval_time: '2m',
    alertname: 'HopwatchComponentP95AboveSlo',
    exp_alerts: [alert({ severity: 'warning', rule: 'component_p95_above_slo', component: 'llm' }, { summary: 'llm p95 above its SLO of 1500 ms', description: "llm p95 is 1.95s over the last 60s (SLO 1500 ms); the quantile is interpolated within the histogram's buckets." })],
  },
  {
    eval_time: '2m',
    alertname: 'HopwatchErrorRateAboveLimit',
    exp_alerts: [alert({ severity: 'critical', rule: 'error_rate_above_limit', component: 'tts' }, { summary: 'tts hops failing above 5 %', description: 'tts: 10% of hops failed over the last 60s (callers hanging up are not counted).' })],
  },
  {
    eval_time: '2m',
    alertname: 'HopwatchSuccessBelowSlo',
    exp_alerts: [alert({ severity: 'critical', rule: 'success_below_slo' }, { summary: 'turn success below 95 %', description: '80% of simulated turns succeeded over the last 60s.' })],
  },
  {
    eval_time: '2m',
    alertname: 'HopwatchGeneratorOverloaded',
    exp_alerts: [alert({ severity: 'warning', rule: 'generator_overloaded', instance: 'gen:8787', job: 'hopwatch' }, { summary: 'a hopwatch process is lagging', description: 'gen:8787: event-loop lag p99 200ms; a load generator this busy starts callers late and its latencies include its own delay.' })],
  },
  {
    eval_time: '20m',
    alertname: 'HopwatchMemoryRising',
    exp_alerts: [memoryAlert('agent', 900)],
  },
  // with 750 s of samples the young process's rise has lasted past the 600 s a heap takes to reach a full collection
  // (its slope is fitted over the 750 s it has, the first minima covering less than 75 s)
  { eval_time: '25m', alertname: 'HopwatchMemoryRising', exp_alerts: [memoryAlert('agent', 900), memoryAlert('young', 900, 75, '221.5')] },
]

async function rulesFile(dir: string, config?: string): Promise<string> {
  const out = join(dir, 'rules.yaml')
  const args = ['alerts', 'rules', '--out', out]
  if (config !== undefined) {
    await writeFile(join(dir, 'hopwatch.yaml'), config)
    args.push('--config', join(dir, 'hopwatch.yaml'))
  }
  const r = await hopwatch(args)
  assert.equal(r.code, 0, r.stderr)
  return out
}

test('the generated Prometheus rules pass promtool check rules', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-rules-'))
  const { stdout } = await run(PROMTOOL, ['check', 'rules', await rulesFile(dir)])
  assert.match(stdout, /SUCCESS: 9 rules found/)
  const custom = await rulesFile(dir, 'alerts:\n  window_s: 30\n  for_s: 10\n  rules:\n    component_p95_ms: { llm: 2500 }\n    success_min: 0.9\n')
  const text = await readFile(custom, 'utf8')
  assert.match(text, /component="llm"\}\[30s\]\)\)\) > 2\.5\n/)
  assert.match(text, /< 0\.9\n/)
  assert.match(text, /for: 10s/)
  await run(PROMTOOL, ['check', 'rules', custom])
})

/** Generates the rules (from `config`, or the defaults) and runs `promtool test rules` on INPUT with these cases. */
async function assertPromtoolPasses(cases: readonly object[], config?: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-rules-'))
  await rulesFile(dir, config)
  await writeFile(join(dir, 'test.yaml'), stringify({ rule_files: ['rules.yaml'], evaluation_interval: '5s', tests: [{ interval: '15s', input_series: INPUT, alert_rule_test: cases }] }))
  const result = await run(PROMTOOL, ['test', 'rules', join(dir, 'test.yaml')]).catch((err: { stdout: string; stderr: string }) => err)
  assert.match(result.stdout, /SUCCESS/, `${result.stdout}${result.stderr}`)
}

test('promtool test rules: each rule fires on the series it is about, and not on a GC sawtooth, a flat process or callers hanging up', async () => {
  await assertPromtoolPasses(CASES)
})

test('promtool test rules: a memory window shorter than 600 s still waits for 600 s of samples and fits 600 s', async () => {
  const cases = [
    // 7.5 min into the young process: a 300 s fit alone would fire on it
    { eval_time: '20m', alertname: 'HopwatchMemoryRising', exp_alerts: [memoryAlert('agent', 600, 60)] },
    { eval_time: '25m', alertname: 'HopwatchMemoryRising', exp_alerts: [memoryAlert('agent', 600, 60), memoryAlert('young', 600, 60)] },
  ]
  await assertPromtoolPasses(cases, 'alerts:\n  memory_window_s: 300\n')
})

test('the Helm chart ships the rules hopwatch alerts rules generates from the defaults', async () => {
  const r = await hopwatch(['alerts', 'rules'], await mkdtemp(join(tmpdir(), 'hopwatch-rules-')))
  assert.equal(r.code, 0, r.stderr)
  assert.equal(await readFile(HELM_RULES, 'utf8'), r.stdout, 'regenerate it: hopwatch alerts rules --out helm/hopwatch/files/hopwatch-rules.yaml')
})
