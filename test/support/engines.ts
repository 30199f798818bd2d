import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore, type Store } from '../../src/store/index.js'
import { ClickHouseServer } from './clickhouse-server.js'

/** A store on one engine, and how to dispose of it. */
export interface EngineUnderTest {
  name: 'embedded' | 'server'
  open(database?: string): Promise<Store>
  dispose(): Promise<void>
  server?: ClickHouseServer
}

/** The embedded engine in a temp directory. */
export async function embeddedEngine(): Promise<EngineUnderTest> {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-store-'))
  const opened: Store[] = []
  return {
    name: 'embedded',
    async open(database = 'hopwatch') {
      const store = await openStore({ kind: 'embedded', dir }, database)
      opened.push(store)
      return store
    },
    async dispose() {
      for (const s of opened) await s.close().catch(() => {})
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Debian's ClickHouse server, started for the test. */
export async function serverEngine(): Promise<EngineUnderTest> {
  const server = await ClickHouseServer.create()
  const opened: Store[] = []
  return {
    name: 'server',
    server,
    async open(database = 'hopwatch') {
      const store = await openStore({ kind: 'server', url: server.url, user: 'default', password: '' }, database)
      opened.push(store)
      return store
    },
    async dispose() {
      for (const s of opened) await s.close().catch(() => {})
      await server.destroy()
    },
  }
}

export const ENGINES = [embeddedEngine, serverEngine] as const
