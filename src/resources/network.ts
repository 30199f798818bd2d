import { readFile } from 'node:fs/promises'
import type { Probe } from './probe.js'

/** Bytes and packets through a network interface, from /proc/net/dev (counters since boot). */
export function networkProbe(name: string, iface: string, devFile = '/proc/net/dev'): Probe {
  return {
    name,
    kind: 'network',
    async read() {
      const line = (await readFile(devFile, 'utf8')).split('\n').find((l) => l.trim().startsWith(`${iface}:`))
      if (line === undefined) throw new Error(`no interface ${iface} in ${devFile}`)
      const f = line.slice(line.indexOf(':') + 1).trim().split(/\s+/).map(Number)
      return { rx_bytes: f[0] ?? 0, rx_packets: f[1] ?? 0, tx_bytes: f[8] ?? 0, tx_packets: f[9] ?? 0 }
    },
  }
}
