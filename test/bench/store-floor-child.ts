// The least a process holding the embedded store can be: Node.js with the embedded ClickHouse engine opened (its
// schema in place) and nothing else, no proxy, no row written. Its RSS is the floor under hopwatch's idle RSS with the
// embedded store.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../../src/store/index.js'

const dir = await mkdtemp(join(tmpdir(), 'hopwatch-store-floor-'))
const store = await openStore({ kind: 'embedded', dir }, 'hopwatch')
process.send?.({ ready: true })
process.on('message', (m) => {
  if (m === 'cpu') {
    const cpu = process.cpuUsage()
    process.send?.({ cpuSeconds: (cpu.user + cpu.system) / 1e6, hops: 0, rssBytes: process.memoryUsage().rss })
  }
  if (m === 'stop') {
    void (async () => {
      await store.close()
      await rm(dir, { recursive: true, force: true })
      process.exit(0)
    })()
  }
})
