import { mkdtemp, rm } from 'node:fs/promises'
import { after, before, describe } from 'node:test'
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

/** What a suite made by onEachEngine sees: set before its tests run. */
export interface OnEngine {
  name: EngineUnderTest['name']
  engine: EngineUnderTest
  store: Store
}

/**
 * The same tests on the embedded engine and on Debian's ClickHouse server: a suite per engine, titled by `title`,
 * with a store opened before its tests (`on.store`) and the engine disposed of after them.
 */
export function onEachEngine(title: (engine: string) => string, body: (on: OnEngine) => void): void {
  for (const makeEngine of ENGINES) {
    const on = { name: makeEngine === embeddedEngine ? 'embedded' : 'server' } as OnEngine
    describe(title(on.name === 'embedded' ? 'embedded engine' : 'Debian ClickHouse server'), () => {
      before(async () => {
        on.engine = await makeEngine()
        on.store = await on.engine.open()
      })
      after(() => on.engine?.dispose())
      body(on)
    })
  }
}
