import { didYouMean } from '../edit-distance.js'
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ChildReport, ChildStart } from './child.js'
import { validateSimConfig, type ServiceConfig, type ServiceKind, type SimConfig } from './config.js'
import { SimError } from './errors.js'
import { KINDS } from './kinds.js'
import { PRESETS } from './presets.js'
import { startService, type RunningService } from './service.js'

/** Where a running simulated service can be reached. */
export interface SimEndpoint {
  name: string
  kind: ServiceKind
  url: string
  /** the process serving it: the simulator's own, or its child's */
  pid: number
  process: 'inline' | 'separate'
}

export interface RunningSim {
  services: SimEndpoint[]
  /** in-process services, for callers that read their pools and faults directly */
  inline: ReadonlyMap<string, RunningService>
  close(): Promise<void>
}

/** The validated config of a built-in preset. */
export function presetConfig(name: string): SimConfig {
  const preset = PRESETS[name]
  if (preset === undefined) throw new SimError('HW_SIM_PRESET', `no preset "${name}".${didYouMean(name, Object.keys(PRESETS))} The presets are ${Object.keys(PRESETS).join(', ')}`)
  return validateSimConfig(structuredClone(preset), `preset ${name}`)
}

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url))

/** Starts one service in a child process and waits until it listens. */
function startChild(config: ServiceConfig, seed: number, host: string): Promise<{ endpoint: SimEndpoint; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' })
    const fail = (message: string) => {
      child.kill('SIGKILL')
      reject(new SimError('HW_SIM_CHILD', `service ${config.name}: ${message}`))
    }
    child.once('error', (err) => fail(err.message))
    child.once('exit', (code, signal) => fail(`its process exited (${signal ?? `code ${code}`}) before listening`))
    child.once('message', (report: ChildReport) => {
      child.removeAllListeners('exit')
      child.removeAllListeners('error')
      if (report.type === 'failed') return fail(report.message)
      resolve({ endpoint: { name: config.name, kind: config.kind, url: report.url, pid: report.pid, process: 'separate' }, child })
    })
    child.send({ type: 'start', config, seed, host } satisfies ChildStart)
  })
}

/** Starts every service of a simulator config; if one fails, the ones started are stopped again. */
export async function startSim(config: SimConfig): Promise<RunningSim> {
  const endpoints: SimEndpoint[] = []
  const inline = new Map<string, RunningService>()
  const children: ChildProcess[] = []
  const close = async () => {
    await Promise.all([
      ...[...inline.values()].map((s) => s.close()),
      ...children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
            child.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            if (child.connected) child.send({ type: 'stop' })
            else child.kill('SIGTERM')
          }),
      ),
    ])
  }
  try {
    // routers last: their routes name the URLs of the LLM services started before them
    const ordered = [...config.services.filter((s) => s.kind !== 'router'), ...config.services.filter((s) => s.kind === 'router')]
    for (const configured of ordered) {
      const service = configured.kind !== 'router' ? configured : { ...configured, routes: configured.routes.map((r) => ({ ...r, url: r.url ?? `${endpoints.find((e) => e.name === r.service)?.url ?? ''}/v1` })) }
      if (service.process === 'separate') {
        const { endpoint, child } = await startChild(service, config.seed, config.host)
        children.push(child)
        endpoints.push(endpoint)
      } else {
        const running = await startService(service, { seed: config.seed, host: config.host, kinds: KINDS }).catch((err: Error) => {
          throw new SimError('HW_SIM_LISTEN', `service ${service.name} cannot listen on ${config.host}:${service.port}: ${err.message}`, { cause: err })
        })
        inline.set(service.name, running)
        endpoints.push({ name: service.name, kind: service.kind, url: running.url, pid: process.pid, process: 'inline' })
      }
    }
    // listed in the config's order, whatever the start order was
    endpoints.sort((a, b) => config.services.findIndex((s) => s.name === a.name) - config.services.findIndex((s) => s.name === b.name))
  } catch (err) {
    await close()
    throw err
  }
  return { services: endpoints, inline, close }
}
