import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { analyzeStoredRun, DEFAULT_SLOS, quantile, type Analysis } from '../../src/analyze/index.js'
import { queryJsonLines, type Store } from '../../src/store/index.js'
import { embeddedEngine, type EngineUnderTest } from '../support/engines.js'
import { AMPLE_SERVICES, seededRun, storeSeededRun, type SeededRun, type ServiceModel } from '../support/seeded-runs.js'

let engine: EngineUnderTest
let store: Store
before(async () => {
  engine = await embeddedEngine()
  store = await engine.open()
})
after(() => engine.dispose())

const RAMP = [10, 13, 16, 20, 25, 31, 39].map((load) => ({ load, phase: 'ramp', seconds: 120 }))

async function record(spec: SeededRun): Promise<Analysis> {
  await storeSeededRun(store, spec)
  const analysis = await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', spec.runId)
  assert.ok(analysis !== undefined)
  return analysis
}

const planted = (services: Partial<Record<keyof SeededRun['services'], ServiceModel>>, extra: Partial<SeededRun> = {}): Omit<SeededRun, 'runId' | 'seed'> => ({ steps: RAMP, services: { ...AMPLE_SERVICES, ...services }, ...extra })

const CASES: Array<[string, string, Omit<SeededRun, 'runId' | 'seed'>]> = [
  ['an LLM with six workers', 'llm', planted({ llm: { workers: 6, latency: { median_ms: 350, p95_ms: 600 }, holdMs: 1200 } })],
  ['a backend API that serves one call at a time', 'backend', planted({ backend: { workers: 1, latency: { median_ms: 400, p95_ms: 600 } } }, { toolShare: 0.6 })],
  ['a TTS with eight workers, each held while it streams', 'tts', planted({ tts: { workers: 8, latency: { median_ms: 150, p95_ms: 250 }, holdMs: 3000 } })],
]

for (const [what, component, spec] of CASES) {
  test(`recorded runs of ${what}: the analyzer names ${component} first, on every seed`, async () => {
    for (const seed of [1, 2, 3]) {
      const analysis = await record({ ...spec, runId: `rec-${component}-${seed}`, seed })
      assert.equal(analysis.first_degraded?.component, component, `seed ${seed}: ${analysis.verdict}`)
      assert.equal(analysis.confidence, 'supported')
    }
  })
}

test('recorded runs of an STT whose word error rate climbs with its queue: STT first, and its WER degrades', async () => {
  const analysis = await record({ ...planted({ stt: { workers: 1, latency: { median_ms: 90, p95_ms: 160 } } }, { wer: { base: 0.02, growth: 1 } }), runId: 'rec-wer', seed: 1 })
  assert.equal(analysis.first_degraded?.component, 'stt', analysis.verdict)
  assert.ok(analysis.wer_degraded_at !== null && analysis.wer_degraded_at.wer > analysis.wer_degraded_at.baseline + 0.05, analysis.verdict)
})

test('recorded runs with no fault, ten seeds: not one names a component (no false alarm)', async () => {
  const named: string[] = []
  for (let seed = 1; seed <= 10; seed++) {
    const analysis = await record({ ...planted({}), runId: `rec-none-${seed}`, seed })
    if (analysis.first_degraded !== undefined || analysis.turn_degraded_at !== null) named.push(`seed ${seed}: ${analysis.verdict}`)
  }
  assert.deepEqual(named, [])
})

test('a recorded spike into an LLM that sheds load with 429: graceful, and it recovers', async () => {
  const steps = [{ load: 9, phase: 'baseline', seconds: 120 }, { load: 30, phase: 'spike', seconds: 120 }, { load: 9, phase: 'recovery', seconds: 240 }]
  const analysis = await record({ ...planted({ llm: { workers: 8, latency: { median_ms: 350, p95_ms: 600 }, holdMs: 1200, queueCap: 4 } }, { steps }), runId: 'rec-spike', seed: 1 })
  assert.equal(analysis.spike?.degraded, 'gracefully', JSON.stringify(analysis.spike))
  assert.ok((analysis.spike?.rejections ?? 0) > 0)
  assert.ok(analysis.spike?.recovery_s !== null && analysis.spike !== null, JSON.stringify(analysis.spike))
})

test('a recorded soak whose memory grows 200 MB/h over ten minutes is a leak; the same soak without growth is not', async () => {
  const soak = [{ load: 10, phase: 'soak', seconds: 600 }]
  const leak = await record({ ...planted({}, { steps: soak, memory: { mbPerHour: 200, seconds: 600 } }), runId: 'rec-leak', seed: 1 })
  const rss = leak.resources?.trends.find((t) => t.metric === 'rss_bytes')
  assert.equal(rss?.verdict, 'rising', JSON.stringify(rss))
  assert.ok(Math.abs((rss?.slope_per_hour ?? 0) / 2 ** 20 - 200) < 40, `${(rss?.slope_per_hour ?? 0) / 2 ** 20} MB/h`)
  for (const seed of [1, 2, 3]) {
    const flat = await record({ ...planted({}, { steps: soak, memory: { mbPerHour: 0, seconds: 600 } }), runId: `rec-noleak-${seed}`, seed })
    assert.notEqual(flat.resources?.trends.find((t) => t.metric === 'rss_bytes')?.verdict, 'rising', flat.verdict)
  }
})

test('JUnit of a soak too short for a memory trend skips its memory case, saying why, and never passes it', async () => {
  const { junitXml } = await import('../../src/report/junit.js')
  const soak = [{ load: 10, phase: 'soak', seconds: 100 }]
  const analysis = await record({ ...planted({}, { steps: soak, memory: { mbPerHour: 0, seconds: 100 } }), runId: 'rec-short-soak', seed: 1 })
  assert.equal(analysis.resources?.trends.find((t) => t.metric === 'rss_bytes')?.verdict, 'too_short')
  const memoryCases = junitXml(analysis, DEFAULT_SLOS, undefined).match(/<testcase classname="hopwatch.resources"[^]*?(\/>|<\/testcase>)/g) ?? []
  assert.ok(memoryCases.length > 0)
  for (const c of memoryCases) assert.match(c, /\n {6}<skipped message="too short for a trend \(\d+ s of samples after the warm-up; 120 s needed\)"\/>/)
})

test('a recorded soak whose memory only rose for four minutes, never falling back: the headline says it cannot tell, and why', async () => {
  const soak = [{ load: 10, phase: 'soak', seconds: 240 }]
  const analysis = await record({ ...planted({}, { steps: soak, memory: { mbPerHour: 600, seconds: 240, sawtooth: false } }), runId: 'rec-unbroken', seed: 1 })
  const rss = analysis.resources?.trends.find((t) => t.metric === 'rss_bytes')
  assert.equal(rss?.too_short_because, 'no_gc_cycle', JSON.stringify(rss))
  assert.match(analysis.verdict, /; agent's memory: too short for a trend \(rose \d+\.\d MB over \d+ s, falling back fewer than twice: .*\)/)
  assert.doesNotMatch(analysis.verdict, /memory is rising/)
})

test('a recorded run whose higher steps were not valid evidence: cannot tell beyond the last valid load, never a guess', async () => {
  const rows = seededRun({ ...planted({ llm: { workers: 6, latency: { median_ms: 350, p95_ms: 600 }, holdMs: 1200 } }), runId: 'rec-saturated', seed: 1 })
  // the host saturated from step 2 on (as on a busy laptop): those steps are recorded as no evidence
  for (const s of rows.steps) if (s.step >= 2) Object.assign(s, { invalid_reason: 'the host\'s CPU was saturated (98 %)', host_cpu: 0.98, generator_limited: 1 })
  const runId = 'rec-saturated'
  for (const [table, values] of [['hops', rows.hops], ['turns', rows.turns], ['steps', rows.steps]] as const) await store.client.insert({ table: `hopwatch.${table}`, values: values as unknown as Array<Record<string, unknown>>, format: 'JSONEachRow' })
  await store.client.insert({ table: 'hopwatch.runs', values: [{ run_id: runId, name: runId, source: 'test', started_us: 1, ended_us: 1, hopwatch_version: 'test', config_json: '{}', updated_us: 1 }], format: 'JSONEachRow' })
  const analysis = (await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', runId))!
  assert.equal(analysis.first_degraded, undefined, analysis.verdict)
  assert.equal(analysis.confidence, 'cannot_tell')
  assert.match(analysis.verdict, /^Cannot tell: steps 2–6 were not valid \(the host's CPU was saturated \(98 %\)\)/)
  assert.deepEqual(analysis.breaches.filter((b) => b.step >= 2), [])
})

test('JUnit of a run that is no evidence fails one case saying why and skips the SLO cases, never passes them', async () => {
  const { junitXml } = await import('../../src/report/junit.js')
  const analysis = (await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', 'rec-saturated'))!
  const xml = junitXml(analysis, DEFAULT_SLOS, undefined)
  const breached = new Set(analysis.breaches.map((b) => b.slo)).size
  assert.match(xml, new RegExp(`<testsuites name="hopwatch" tests="\\d+" failures="${1 + breached}">`))
  assert.match(xml, /<testcase classname="hopwatch.evidence" name="the run is evidence for its verdict">\n {6}<failure message="cannot tell">Cannot tell: steps 2–6/)
  const sloCases = xml.match(/classname="hopwatch.slo"[^]*?<\/testcase>/g) ?? []
  // each SLO case is skipped, or failed by a breach at a valid step: none passes
  assert.ok(sloCases.length >= 5 && sloCases.every((c) => c.includes('<skipped') || c.includes('<failure')), xml)
})

test('a run of the proxy alone (hops, no generator, no turns) is judged over time in windows: the LLM that slows is named, with when', async () => {
  const rows = seededRun({ ...planted({ llm: { workers: 6, latency: { median_ms: 350, p95_ms: 600 }, holdMs: 1200 } }), runId: 'rec-proxy-only', seed: 4 })
  await store.client.insert({ table: 'hopwatch.hops', values: rows.hops as unknown as Array<Record<string, unknown>>, format: 'JSONEachRow' })
  const first = Math.min(...rows.hops.map((h) => h.start_us))
  await store.client.insert({ table: 'hopwatch.runs', values: [{ run_id: 'rec-proxy-only', name: 'proxy', source: 'proxy', started_us: first, ended_us: first, hopwatch_version: 'test', config_json: '{}', updated_us: first }], format: 'JSONEachRow' })
  // the model's steps are 120 s long: windows of 120 s line up with its load levels
  const analysis = (await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', 'rec-proxy-only', { windowS: 120 }))!
  assert.deepEqual(analysis.time_axis, { window_s: 120, hops: rows.hops.length })
  // the ramp's steps, and the hops of the drain after it in one more
  assert.ok(analysis.steps.length >= RAMP.length, String(analysis.steps.length))
  assert.equal(analysis.first_degraded?.component, 'llm', analysis.verdict)
  assert.match(analysis.verdict, /^No load axis: the proxy recorded \d+ hops without a load generator, judged over time in \d+ windows of 120 s against the first; LLM degrades first, from \d\d:\d\d after the first hop \([\d.]+ hops\/s\): p95 \+\d+ ms/)
  // the same windows' p95 as the table computes from the hops directly
  const llmWindow3 = rows.hops.filter((h) => h.component === 'llm' && h.error_kind === '' && Math.floor((h.start_us - first) / 120e6) === 3).map((h) => (h.first_payload_us - h.start_us) / 1000)
  assert.equal(analysis.steps[3]?.components.llm?.p95_ms, quantile(llmWindow3, 0.95))
})

test('a run with nothing recorded is no evidence: cannot tell, and JUnit does not pass it', async () => {
  await store.client.insert({ table: 'hopwatch.runs', values: [{ run_id: 'rec-empty', name: 'empty', source: 'proxy', started_us: 5, ended_us: 5, hopwatch_version: 'test', config_json: '{}', updated_us: 5 }], format: 'JSONEachRow' })
  const analysis = (await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', 'rec-empty'))!
  assert.equal(analysis.confidence, 'cannot_tell')
  assert.match(analysis.verdict, /^Cannot tell/)
  const { junitXml } = await import('../../src/report/junit.js')
  assert.match(junitXml(analysis, DEFAULT_SLOS, undefined), /failures="1"/)
})
