import assert from 'node:assert/strict'
import { test } from 'node:test'
import { validateConfig } from '../../src/config/index.js'
import { hopEnded } from '../../src/events.js'
import { ADAPTER_NAMES } from '../../src/proxy/index.js'
import { Hop } from '../../src/proxy/hop.js'
import { Upstream } from '../../src/proxy/upstream.js'
import type { HopRecord } from '../../src/types.js'

test('a hop\'s record is final once published: a late mark (a request end, bytes, a status) changes nothing already queued', () => {
  const config = validateConfig({ upstreams: [{ name: 'llm', component: 'llm', adapter: 'openai', target: 'http://127.0.0.1:9/v1', prefix: '/llm' }] }, 'test', { adapters: ADAPTER_NAMES })
  const upstream = new Upstream(config.upstreams[0]!, config.proxy)
  const published: HopRecord[] = []
  const listener = (m: unknown) => published.push(m as HopRecord)
  hopEnded.subscribe(listener)
  try {
    const hop = new Hop(upstream, 'llm', { runId: 'r', conversationId: 'c', turn: 1, traceId: '', parentSpanId: '' }, 1, 'http', 'POST', '/v1/chat/completions')
    hop.requestEnd(1_000)
    hop.responseStart(200)
    hop.responseBytes(10)
    hop.finish()
    const snapshot = { ...published[0]! }
    // what a stream or socket may still report after the hop ended
    hop.requestEnd(9_000_000_000_000_000)
    hop.responseStart(500)
    hop.responseBytes(1_000)
    hop.requestBytes(1_000)
    hop.firstPayload()
    hop.final()
    hop.usage(5, 6)
    hop.audio(100)
    hop.model('late')
    hop.markAuxiliary()
    hop.startAt(1)
    assert.equal(published.length, 1)
    assert.deepEqual(published[0], snapshot)
  } finally {
    hopEnded.unsubscribe(listener)
    void upstream.close?.()
  }
})
