import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { test } from 'node:test'
import { freePort } from '../support/ports.js'

test('a port for a ClickHouse server (or ZooKeeper, Alertmanager) is drawn below the range the kernel hands out by itself, so no listener on port 0 and no outgoing connection takes it first', async () => {
  const [first] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number) as [number]
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()))
  for (const port of ports) assert.ok(port >= 1024 && port < first, `${port} is below ${first}`)
  // and it is free: a server can listen on it
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(ports[0], '127.0.0.1', resolve))
  assert.equal((server.address() as AddressInfo).port, ports[0])
  await new Promise((resolve) => server.close(resolve))
})
