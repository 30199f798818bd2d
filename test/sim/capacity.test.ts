import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { test } from 'node:test'
import OpenAI from 'openai'
import { simulate } from '../support/sim.js'

const SERVICE_MS = 300

interface Timed {
  status: number
  ms: number
  queueMs: number
  body: unknown
  retryAfter: string | null
}

async function timedGet(url: string): Promise<Timed> {
  const started = performance.now()
  const res = await fetch(url)
  const body = await res.json()
  return { status: res.status, ms: performance.now() - started, queueMs: Number(res.headers.get('x-sim-queue-ms') ?? NaN), body, retryAfter: res.headers.get('retry-after') }
}

const p95 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.95) - 1] as number

test('with 4 workers, 4 concurrent requests see the service time and 16 see about four times it at p95', async () => {
  const sim = await simulate({ services: [{ name: 'api', kind: 'backend', workers: 4, queue: 100, latency: { median_ms: SERVICE_MS } }] })
  try {
    const url = `${sim.url('api')}/v1/availability?date=2026-12-04&party=2`
    await timedGet(url) // a first request opens the connection pool: it is not what is measured
    const four = await Promise.all(Array.from({ length: 4 }, () => timedGet(url)))
    const sixteen = await Promise.all(Array.from({ length: 16 }, () => timedGet(url)))
    // the server's own clock: four fit the four workers and nobody waits; sixteen wait in waves of four
    assert.ok(four.every((r) => r.status === 200 && r.queueMs < SERVICE_MS / 2), 'four fit the four workers: nobody waits')
    const waves = sixteen.map((r) => Math.round(r.queueMs / SERVICE_MS)).sort()
    assert.deepEqual(waves, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
    // so the caller's p95 is the service time at 4 and four service times at 16; a shared machine only adds to
    // these, so the check is that neither is shorter than the model allows (upper bounds would only measure noise)
    assert.ok(p95(four.map((r) => r.ms)) >= SERVICE_MS)
    assert.ok(p95(sixteen.map((r) => r.ms)) >= 4 * SERVICE_MS)
  } finally {
    await sim.close()
  }
})

test('requests beyond workers and queue are rejected with the configured status and a provider-shaped body', async () => {
  const sim = await simulate({ services: [{ name: 'api', kind: 'backend', workers: 1, queue: 2, reject_status: 503, latency: { median_ms: SERVICE_MS } }] })
  try {
    const url = `${sim.url('api')}/v1/customers/555-0101`
    const results = await Promise.all(Array.from({ length: 6 }, () => timedGet(url)))
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 200, 503, 503, 503])
    const rejected = results.find((r) => r.status === 503)!
    assert.deepEqual((rejected.body as { error: { code: string } }).error.code, 'unavailable')
    assert.equal(rejected.retryAfter, '1')
  } finally {
    await sim.close()
  }
})

test('an LLM beyond its queue answers 429 the way OpenAI does, so the SDK raises its RateLimitError', async () => {
  const sim = await simulate({ services: [{ name: 'llm', kind: 'llm', workers: 1, queue: 0, ttft: { median_ms: SERVICE_MS } }] })
  try {
    const client = new OpenAI({ apiKey: 'sk-sim', baseURL: `${sim.url('llm')}/v1`, maxRetries: 0 })
    const ask = () => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
    const [first, second] = await Promise.allSettled([ask(), ask()])
    assert.equal(first.status, 'fulfilled')
    assert.equal(second.status, 'rejected')
    const err = (second as PromiseRejectedResult).reason as InstanceType<typeof OpenAI.RateLimitError>
    assert.ok(err instanceof OpenAI.RateLimitError, String(err))
    assert.equal(err.code, 'rate_limit_exceeded')
  } finally {
    await sim.close()
  }
})

test('connections beyond max_connections are closed as soon as they are accepted', async () => {
  const sim = await simulate({ services: [{ name: 'api', kind: 'backend', max_connections: 2, latency: { median_ms: SERVICE_MS } }] })
  try {
    const { port } = new URL(sim.url('api'))
    // three keep-alive connections, each asking once: two are served, the third is closed unanswered
    const outcomes = await Promise.all(
      [0, 1, 2].map(
        (i) =>
          new Promise<string>((resolve) => {
            const socket = connect(Number(port), '127.0.0.1')
            let data = ''
            socket.on('data', (d) => (data += d))
            socket.on('error', () => {})
            socket.on('close', () => resolve(data.split('\r\n')[0] ?? ''))
            // stagger so the order of acceptance is the order of i
            setTimeout(() => socket.write(`GET /v1/orders/${i} HTTP/1.1\r\nhost: sim\r\nconnection: close\r\n\r\n`), i * 50)
          }),
      ),
    )
    assert.deepEqual(outcomes.sort(), ['', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK'])
  } finally {
    await sim.close()
  }
})
