import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { Probe } from './probe.js'

const run = promisify(execFile)
const MIB = 1024 * 1024

/** The fields asked of nvidia-smi, in order. */
export const NVIDIA_QUERY = 'index,utilization.gpu,memory.used,memory.total'

/** Parses `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(csv: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of csv.split('\n')) {
    const [index, util, used, total] = line.split(',').map((f) => f.trim())
    if (index === undefined || index === '' || used === undefined) continue
    // "[N/A]" where a GPU does not report a field
    const n = (s: string | undefined) => (s === undefined || Number.isNaN(Number(s)) ? undefined : Number(s))
    if (n(util) !== undefined) out[`gpu${index}_utilization_percent`] = n(util) as number
    if (n(used) !== undefined) out[`gpu${index}_memory_bytes`] = (n(used) as number) * MIB
    if (n(total) !== undefined) out[`gpu${index}_memory_limit_bytes`] = (n(total) as number) * MIB
  }
  return out
}

/** The GPUs as nvidia-smi reports them; a machine without nvidia-smi is reported once, as a target that is gone. */
export function nvidiaProbe(name: string, command = 'nvidia-smi', timeoutMs = 5_000): Probe {
  return {
    name,
    kind: 'nvidia_smi',
    async read() {
      try {
        const { stdout } = await run(command, [`--query-gpu=${NVIDIA_QUERY}`, '--format=csv,noheader,nounits'], { timeout: timeoutMs })
        return parseNvidiaSmi(stdout)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
    },
  }
}
