import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { test } from 'node:test'
import { WebSocket } from 'ws'
import { slowdownFactor } from '../../src/sim/faults.js'
import { silencePcm, speechPcm } from '../../src/sim/index.js'
import { wordErrorRate } from '../../src/wer.js'
import { simulate } from '../support/sim.js'

const instant = { median_ms: 0 }

async function statuses(url: string, n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const res = await fetch(url)
    await res.arrayBuffer()
    out.push(res.status)
  }
  return out
}

test('the planted error rate stays within its binomial bounds over many requests', async () => {
  const sim = await simulate({ seed: 11, services: [{ name: 'api', kind: 'backend', latency: instant, errors: { rate: 0.2, kind: 500 } }] })
  try {
    const n = 600
    const errors = (await statuses(`${sim.url('api')}/v1/orders/1`, n)).filter((s) => s === 500).length
    // mean np = 120, sd √(np(1−p)) ≈ 9.8: four standard deviations either side
    const sd = Math.sqrt(n * 0.2 * 0.8)
    assert.ok(Math.abs(errors - n * 0.2) <= 4 * sd, `${errors} errors of ${n}`)
  } finally {
    await sim.close()
  }
})

test('the same seed plants the same faults on the same requests; another seed plants others', async () => {
  const run = async (seed: number) => {
    const sim = await simulate({ seed, services: [{ name: 'api', kind: 'backend', latency: instant, errors: { rate: 0.3, kind: 503 } }] })
    try {
      return (await statuses(`${sim.url('api')}/v1/orders/1`, 60)).join(',')
    } finally {
      await sim.close()
    }
  }
  const [a, b, c] = [await run(5), await run(5), await run(6)]
  assert.equal(a, b)
  assert.notEqual(a, c)
})

/** How a plain HTTP request to `url` ends: its status, or the socket error's code. */
function outcome(url: string, timeoutMs = 0): Promise<string> {
  return new Promise((resolve) => {
    const req = request(url, (res) => {
      res.on('data', () => {})
      res.on('end', () => resolve(`status ${res.statusCode}`))
      res.on('error', (err: NodeJS.ErrnoException) => resolve(`body ${err.code ?? err.message}`))
    })
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
    if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timed out'), { code: 'CLIENT_TIMEOUT' })))
    req.end()
  })
}

test('a planted reset is a real TCP reset, and a planted timeout never answers', async () => {
  const sim = await simulate({
    services: [
      { name: 'resets', kind: 'backend', latency: instant, errors: { rate: 1, kind: 'reset' } },
      { name: 'hangs', kind: 'backend', latency: instant, errors: { rate: 1, kind: 'timeout' } },
    ],
  })
  try {
    assert.equal(await outcome(`${sim.url('resets')}/v1/orders/1`), 'ECONNRESET')
    assert.equal(await outcome(`${sim.url('hangs')}/v1/orders/1`, 400), 'CLIENT_TIMEOUT')
  } finally {
    await sim.close()
  }
})

test('dropped connections are reset part-way through a streamed answer', async () => {
  const sim = await simulate({ services: [{ name: 'llm', kind: 'llm', ttft: instant, tokens_per_s: 200, drop_connections: 1 }] })
  try {
    const chunks: string[] = []
    const ended = await new Promise<string>((resolve) => {
      const req = request(`${sim.url('llm')}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.on('data', (d: Buffer) => chunks.push(d.toString()))
        res.on('end', () => resolve('end'))
        res.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
      })
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
      req.end(JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hello' }] }))
    })
    assert.equal(ended, 'ECONNRESET')
    assert.ok(chunks.join('').includes('"content"'), 'some tokens arrived before the reset')
    assert.ok(!chunks.join('').includes('[DONE]'))
  } finally {
    await sim.close()
  }
})

test('a WebSocket stream with a planted drop is reset, not closed', async () => {
  const sim = await simulate({ services: [{ name: 'stt', kind: 'stt', latency: instant, drop_connections: 1 }] })
  try {
    const ws = new WebSocket(`${sim.url('stt').replace('http:', 'ws:')}/v1/listen?encoding=linear16&sample_rate=16000`)
    await new Promise((r) => ws.once('open', r))
    const ended = new Promise<{ code: number; error: string }>((resolve) => {
      let error = ''
      // ws turns a socket error into close 1006 without an error event: listen on the TCP socket itself
      ;(ws as unknown as { _socket: NodeJS.EventEmitter })._socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message))
      ws.on('close', (code) => resolve({ code, error }))
    })
    ws.send(speechPcm(16_000, 300))
    ws.send(JSON.stringify({ type: 'Finalize' }))
    const { code, error } = await ended
    assert.equal(code, 1006, 'no close frame: the connection was cut')
    assert.equal(error, 'ECONNRESET')
  } finally {
    await sim.close()
  }
})

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024
}

test('a planted leak grows the resident memory of its own process by about bytes × requests', async () => {
  const mib = 1024 * 1024
  const sim = await simulate({ services: [{ name: 'api', kind: 'backend', process: 'separate', latency: instant, leak: { bytes_per_request: mib } }] })
  try {
    const { pid } = sim.services[0]!
    assert.notEqual(pid, process.pid)
    const url = `${sim.url('api')}/v1/orders/1`
    await statuses(url, 20)
    const before = await rssBytes(pid)
    await statuses(url, 150)
    const grown = (await rssBytes(pid)) - before
    assert.ok(grown > 0.8 * 150 * mib && grown < 1.3 * 150 * mib, `RSS grew ${(grown / mib).toFixed(1)} MiB for 150 MiB leaked`)
    const metrics = await (await fetch(`${sim.url('api')}/metrics`)).text()
    assert.match(metrics, new RegExp(`hopwatch_sim_leaked_bytes\\{[^}]*\\} ${170 * mib}\\b`))
  } finally {
    await sim.close()
  }
})

test('a slowdown multiplies service times from after_s, ramps to its factor and recovers after for_s', () => {
  const slowdown = { after_s: 10, ramp_s: 10, factor: 3, for_s: 20 }
  assert.deepEqual(
    [0, 9.9, 10, 15, 20, 39.9, 40, 100].map((s) => slowdownFactor(slowdown, s)),
    [1, 1, 1, 2, 3, 3, 1, 1],
  )
  assert.equal(slowdownFactor({ ...slowdown, for_s: 0 }, 1e6), 3, 'for_s 0 holds it for good')
  assert.equal(slowdownFactor(undefined, 50), 1)
})

test('transcripts degrade with load: exact at low load, word errors once streams queue beyond the workers', async () => {
  const sim = await simulate({ seed: 2, services: [{ name: 'stt', kind: 'stt', workers: 1, queue: 100, latency: { median_ms: 30 }, wer: { base: 0, growth: 0.3 } }] })
  const expected = 'i would like to book a table for two tonight at seven please'
  const transcribeOnce = async (): Promise<string> => {
    const ws = new WebSocket(`${sim.url('stt').replace('http:', 'ws:')}/v1/listen?encoding=linear16&sample_rate=16000&endpointing=100`, { headers: { 'x-sim-text': encodeURIComponent(expected) } })
    await new Promise((r) => ws.once('open', r))
    const final = new Promise<string>((resolve) =>
      ws.on('message', (data: Buffer) => {
        const m = JSON.parse(data.toString()) as { type: string; is_final?: boolean; channel?: { alternatives: Array<{ transcript: string }> } }
        if (m.type === 'Results' && m.is_final === true) resolve(m.channel?.alternatives[0]?.transcript ?? '')
      }),
    )
    ws.send(speechPcm(16_000, 600))
    ws.send(silencePcm(16_000, 200))
    const text = await final
    ws.close()
    return text
  }
  try {
    assert.equal(await transcribeOnce(), expected)
    const loaded = await Promise.all(Array.from({ length: 12 }, transcribeOnce))
    const meanWer = loaded.reduce((sum, t) => sum + wordErrorRate(expected, t), 0) / loaded.length
    assert.ok(meanWer > 0.3, `mean WER under 12× load: ${meanWer.toFixed(2)}`)
  } finally {
    await sim.close()
  }
})
