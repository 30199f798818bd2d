import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { context, trace } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { Analysis } from '../../src/analyze/index.js'
import { hopwatch, startHopwatch } from '../support/cli.js'

test('hopwatch proxy takes a Pipecat agent\'s spans into its store, and hopwatch analyze reads the run from them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-agent-'))
  const config = join(dir, 'hopwatch.yaml')
  await writeFile(config, `proxy: { port: 0 }\nstore: { dir: ${join(dir, 'store')} }\nalerts: { sinks: { log: false } }\nupstreams:\n  - { name: llm, component: llm, adapter: openai, target: "http://127.0.0.1:9", prefix: /llm }\n`)
  const proxy = await startHopwatch(['proxy', '--config', config, '--run-id', 'agent-run'], /listening on (http:\/\/[\d.:]+).*OTLP\/HTTP traces at \/v1\/traces/)
  const url = proxy.match[1]!

  // the agent's exporter, batched as an agent would run it: two conversations, six turns each
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'bot' }), spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${url}/v1/traces` }))] })
  const tracer = provider.getTracer('pipecat')
  const t0 = Date.now() - 120_000
  for (const c of [1, 2]) {
    for (let n = 1; n <= 6; n++) {
      const base = t0 + c * 1000 + n * 8000
      const turn = tracer.startSpan('turn', { startTime: new Date(base), attributes: { 'turn.number': n, 'conversation.id': `conv-${c}` } })
      const inTurn = trace.setSpan(context.active(), turn)
      for (const [name, from, to, ttfb] of [['stt', 1500, 1600, 0.2], ['llm', 1600, 2600, 0.4 + n * 0.02], ['tts', 2100, 3000, 0.15]] as const) {
        tracer.startSpan(name, { startTime: new Date(base + from), attributes: { 'metrics.ttfb': ttfb, 'gen_ai.request.model': 'gpt-4o-mini' } }, inTurn).end(new Date(base + to))
      }
      turn.setAttributes({ 'turn.user_turn_seconds': 1.5, 'turn.user_bot_latency_seconds': 1 })
      turn.end(new Date(base + 4000))
    }
  }
  await provider.shutdown()
  const metrics = await (await fetch(`${url}/metrics`)).text()
  assert.match(metrics, /hopwatch_otlp_received_spans_total 48\b/)

  proxy.child.kill('SIGTERM')
  assert.equal(await proxy.exited, 0, proxy.output().stderr)
  assert.match(proxy.output().stdout, /spans +48 +48 +0 +0 +0/)
  assert.match(proxy.output().stdout, /turns +12 +12 +0 +0 +0/)
  assert.match(proxy.output().stdout, /hops +36 +36 +0 +0 +0/)

  const a = await hopwatch(['analyze', '--config', config, '--run', 'agent-run', '--format', 'json'])
  assert.equal(a.code, 0, a.stderr)
  const analysis = JSON.parse(a.stdout) as Analysis
  const [step] = analysis.steps
  assert.equal(analysis.steps.length, 1)
  assert.deepEqual([step?.phase, step?.load, step?.turns?.turns, step?.turns?.p95_ms], ['observed', 2, 12, 1000])
  assert.deepEqual([step?.components.llm?.p95_ms, step?.components.stt?.p95_ms, step?.components.tts?.p95_ms], [520, 200, 150])
})
