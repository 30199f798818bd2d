import { validateConfig } from '../../src/config/index.js'
import { ADAPTER_NAMES, startProxy, type AdminHooks, type ProxyOptions, type RunningProxy } from '../../src/proxy/index.js'

export interface TestUpstream {
  name: string
  component: string
  adapter?: string
  target: string
  prefix?: string
  port?: number
  timeouts?: Record<string, number>
  routes?: Array<{ path: string; component: string }>
}

/** Starts the real proxy on free ports with the given upstreams. */
export async function startTestProxy(upstreams: TestUpstream[], proxy: Record<string, unknown> = {}, admin: AdminHooks = {}, otlp?: ProxyOptions['otlp']): Promise<RunningProxy> {
  const config = validateConfig({ proxy: { port: 0, ...proxy }, upstreams }, 'test config', { adapters: ADAPTER_NAMES })
  return startProxy({ config, runId: 'run-default', admin, ...(otlp !== undefined ? { otlp } : {}) })
}
