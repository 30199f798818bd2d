import assert from 'node:assert/strict'
import { test } from 'node:test'
import { turnEnded } from '../../src/events.js'
import { poissonArrivals } from '../../src/loadgen/arrivals.js'
import { stages } from '../../src/loadgen/index.js'
import { Rng } from '../../src/sim/random.js'
import { runAgainstSim, scenario } from '../support/load.js'

test('open-model arrivals follow the rate: the count within 4σ and bin counts pass a chi-square dispersion test', () => {
  const ratePerMs = 0.05 // 50 per second
  const durationMs = 20_000
  const arrivals = poissonArrivals(new Rng(42, 'arrivals'), ratePerMs, durationMs)
  const expected = ratePerMs * durationMs
  assert.ok(Math.abs(arrivals.length - expected) < 4 * Math.sqrt(expected), `${arrivals.length} arrivals, ${expected} expected`)
  // 100 bins of 200 ms: Poisson counts have variance = mean, so Σ(x − m)²/m ~ χ²(99); its 99.9th percentile is 148.2
  const bins = new Array<number>(100).fill(0)
  for (const at of arrivals) bins[Math.floor(at / 200)]!++
  const mean = arrivals.length / bins.length
  const dispersion = bins.reduce((sum, x) => sum + (x - mean) ** 2 / mean, 0)
  assert.ok(dispersion < 148.2, `dispersion statistic ${dispersion.toFixed(1)}`)
  assert.ok(arrivals.every((at, i) => at >= 0 && at < durationMs && (i === 0 || at >= arrivals[i - 1]!)))
})

test('when the generator stalls, conversations due meanwhile start late and say so, and none is lost', async () => {
  // block this process's event loop for 600 ms once the open-model step is under way (its first turn has ended)
  let stalled = false
  const stall = () => {
    if (stalled) return
    stalled = true
    const until = Date.now() + 600
    while (Date.now() < until) {
      // the stall
    }
  }
  turnEnded.subscribe(stall)
  const result = await runAgainstSim(
    {
      services: [
        { name: 'stt', kind: 'stt', latency: { median_ms: 20 } },
        { name: 'llm', kind: 'llm', ttft: { median_ms: 20 }, tokens_per_s: 1000 },
        { name: 'tts', kind: 'tts', ttfb: { median_ms: 20 }, realtime_factor: 0.01 },
        { name: 'backend', kind: 'backend', latency: { median_ms: 5 } },
      ],
    },
    { steps: stages({ stages: [{ target: 1, duration_s: 60 }] }), model: 'open', timeScale: 20, scenarios: scenario('typical') },
  )
  turnEnded.unsubscribe(stall)
  assert.ok(stalled)
  const [step] = result.steps
  assert.ok(step !== undefined)
  // 1 arrival per second of the profile × 20 compressed = 20 per wall second over 3 s: ~60 due, ~12 during the stall
  assert.ok(step.late_starts >= 5, `${step.late_starts} late starts`)
  assert.ok(step.lateness_p99_ms >= 300, `lateness p99 ${step.lateness_p99_ms} ms`)
  const conversations = new Set(result.turns.map((t) => t.conversation_id))
  assert.equal(conversations.size, step.started, 'every started conversation produced its turns')
  assert.ok(result.turns.some((t) => t.late_us >= 300_000), 'the late ones carry their lateness')
})
