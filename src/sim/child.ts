/**
 * The entry point of a service in its own process (`process: separate`): it receives its config over IPC, starts
 * the service, reports where it listens, and exits when the parent says so or goes away.
 */
import type { ServiceConfig } from './config.js'
import { KINDS } from './kinds.js'
import { startService } from './service.js'

export interface ChildStart {
  type: 'start'
  config: ServiceConfig
  seed: number
  host: string
}

export type ChildReport = { type: 'listening'; url: string; port: number; pid: number } | { type: 'failed'; message: string }

process.once('message', (message: ChildStart) => {
  startService(message.config, { seed: message.seed, host: message.host, kinds: KINDS }).then(
    (service) => {
      process.send?.({ type: 'listening', url: service.url, port: service.port, pid: process.pid } satisfies ChildReport)
      const stop = () => void service.close().finally(() => process.exit(0))
      process.on('message', (m: { type?: string }) => m.type === 'stop' && stop())
      process.once('disconnect', stop)
      process.once('SIGTERM', stop)
    },
    (err: Error) => {
      process.send?.({ type: 'failed', message: err.message } satisfies ChildReport, () => process.exit(1))
    },
  )
})
