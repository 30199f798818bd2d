import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'

export const ALERTMANAGER = process.env.HOPWATCH_ALERTMANAGER ?? '/usr/bin/prometheus-alertmanager'

export interface RunningAlertmanager {
  url: string
  stop(): Promise<void>
}

/**
 * A real Alertmanager (Debian's prometheus-alertmanager) on a free 127.0.0.1 port, clustering off, routing every
 * alert to `webhookUrl` at once (group_wait and group_interval 1 s) with resolved notifications.
 */
export async function startAlertmanager(webhookUrl: string): Promise<RunningAlertmanager> {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-am-'))
  const port = await freePort()
  await writeFile(
    join(dir, 'alertmanager.yml'),
    `route:\n  receiver: hook\n  group_by: [alertname, component]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: ${webhookUrl}\n        send_resolved: true\n`,
  )
  const child: ChildProcess = spawn(ALERTMANAGER, [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()))
  const exited = new Promise<number | null>((r) => child.once('exit', r))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 20_000
  for (;;) {
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false)
    if (ready) break
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`Alertmanager did not become ready on ${url}:\n${log}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}
