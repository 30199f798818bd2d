import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hopEnded } from '../../src/events.js'
import { ProxyError } from '../../src/proxy/index.js'
import type { HopRecord } from '../../src/types.js'
import { freePort } from '../support/ports.js'
import { startTestProxy } from '../support/proxy.js'

test('an upstream whose target is the proxy\'s own port is refused at start, naming the upstream', async () => {
  const port = await freePort()
  await assert.rejects(
    startTestProxy([{ name: 'self', component: 'llm', target: `http://127.0.0.1:${port}/v1`, prefix: '/llm' }], { port }),
    (err: unknown) => err instanceof ProxyError && err.code === 'HW_PROXY_LOOP' && /upstreams self\.target/.test(err.message),
  )
})

test('two proxies pointing at each other: the request comes back once, is answered 508, and makes two hops, not thousands', async () => {
  const hops: HopRecord[] = []
  const onHop = (m: unknown) => hops.push(m as HopRecord)
  hopEnded.subscribe(onHop)
  const portA = await freePort()
  const b = await startTestProxy([{ name: 'to-a', component: 'backend', target: `http://127.0.0.1:${portA}/a`, prefix: '/b' }])
  const a = await startTestProxy([{ name: 'to-b', component: 'backend', target: `${b.url}/b`, prefix: '/a' }], { port: portA })
  try {
    const res = await fetch(`${a.url}/a/x`)
    assert.equal(res.status, 508)
    assert.equal(res.headers.get('x-hopwatch-error'), 'HW_PROXY_LOOP')
    // let the hops of the two forwards end
    await new Promise((r) => setTimeout(r, 200))
    assert.ok(hops.length <= 2, `${hops.length} hops`)
  } finally {
    hopEnded.unsubscribe(onHop)
    await a.close()
    await b.close()
  }
})
