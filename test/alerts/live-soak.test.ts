import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { startAlertmanager } from '../support/alertmanager.js'
import { hopwatch } from '../support/cli.js'
import { listenHttp, readBody } from '../support/servers.js'

interface Notification {
  status: string
  alerts: Array<{ status: string; labels: Record<string, string> }>
  hopwatch?: { rule: string; key: string; state: string; repeat: boolean; message: string }
}

/** The LLM runs in its own process and slows 6× from 12 s after it starts, for 10 s. */
const SIM = `seed: 7
services:
  - { name: stt, kind: stt, workers: 64, queue: 512, latency: { median_ms: 120, p95_ms: 250 } }
  - { name: llm, kind: llm, process: separate, workers: 16, queue: 100, ttft: { median_ms: 200, p95_ms: 350 }, tokens_per_s: 200, reply_words: { min: 5, max: 12 }, slowdown: { after_s: 12, ramp_s: 0, factor: 6, for_s: 10 } }
  - { name: tts, kind: tts, workers: 64, queue: 512, ttfb: { median_ms: 90, p95_ms: 180 }, realtime_factor: 0.1 }
  - { name: backend, kind: backend, workers: 100, queue: 0, latency: { median_ms: 40, p95_ms: 100 } }
`

test('a live rule fires during a compressed soak with a planted slowdown, reaches a webhook and a real Alertmanager, and resolves when the slowdown ends', async () => {
  const direct: Notification[] = []
  const routed: Notification[] = []
  let routedResolved: () => void = () => {}
  const routedResolvedSeen = new Promise<void>((r) => (routedResolved = r))
  const receiver = await listenHttp(async (req, res) => {
    const body = JSON.parse((await readBody(req)).toString()) as Notification
    if (req.url === '/am') {
      routed.push(body)
      if (body.status === 'resolved' && body.alerts.some((a) => a.labels.component === 'llm')) routedResolved()
    } else direct.push(body)
    res.end('ok')
  })
  const am = await startAlertmanager(`${receiver.url}/am`)
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-live-'))
  try {
    await writeFile(join(dir, 'sim.yaml'), SIM)
    await writeFile(
      join(dir, 'hopwatch.yaml'),
      `proxy: { port: 0 }
store: { dir: ${join(dir, 'store')} }
resources: { interval_s: 0.5 }
alerts:
  eval_s: 0.5
  window_s: 3
  for_s: 1.5
  min_events: 5
  rules: { component_p95_ms: { llm: 1000 } }
  sinks: { log: true, webhooks: [${receiver.url}/direct], alertmanagers: [${am.url}] }
`,
    )
    const config = join(dir, 'hopwatch.yaml')
    const r = await hopwatch(['run', '--sim', '--sim-config', join(dir, 'sim.yaml'), '--config', config, '--profile', 'soak', '--level', '6', '--duration-s', '300', '--time-scale', '10', '--run-id', 'live-soak'])
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)

    const llm = direct.filter((n) => n.hopwatch?.rule === 'component_p95_above_slo' && n.hopwatch.key === 'llm')
    assert.ok(llm.length >= 2, `webhook got ${JSON.stringify(direct.map((n) => n.hopwatch))}\n${r.stderr}`)
    assert.equal(llm[0]?.status, 'firing')
    assert.equal(llm.at(-1)?.status, 'resolved')
    assert.doesNotMatch(llm.at(-1)?.hopwatch?.message ?? '', /the run ended/, 'resolved because the slowdown ended, before the run did')
    assert.ok(llm.every((n) => n.alerts[0]?.labels.run_id === 'live-soak'))
    assert.match(r.stderr, /alert FIRING component_p95_above_slo llm: llm p95 \d+ ms/)

    // Alertmanager routed it to its own receiver, and then its resolution
    await routedResolvedSeen
    const amLlm = routed.filter((n) => n.alerts.some((a) => a.labels.alertname === 'component_p95_above_slo' && a.labels.component === 'llm'))
    assert.equal(amLlm[0]?.status, 'firing')
    assert.equal(amLlm.at(-1)?.status, 'resolved')

    const list = await hopwatch(['alerts', 'list', '--config', config, '--run', 'live-soak'])
    assert.equal(list.code, 0, list.stderr)
    const llmStates = list.stdout.split('\n').filter((l) => l.includes('component_p95_above_slo') && / llm /.test(l)).map((l) => l.trim().split(/\s+/)[1])
    assert.deepEqual(llmStates.slice(0, 3), ['pending', 'firing', 'resolved'])

    const sampled = await hopwatch(['sql', '--config', config, "SELECT target, count() AS n FROM hopwatch.resource_samples WHERE run_id = 'live-soak' AND metric = 'rss_bytes' GROUP BY target ORDER BY target"])
    const targets = sampled.stdout.trim().split('\n').map((l) => JSON.parse(l) as { target: string; n: number })
    assert.deepEqual(targets.map((t) => t.target), ['hopwatch', 'sim-llm'])
    assert.ok(targets.every((t) => t.n >= 40), JSON.stringify(targets))
    assert.match(r.stdout, /alerts:.*component_p95_above_slo llm fired/s)
  } finally {
    await am.stop()
    await receiver.close()
  }
})
