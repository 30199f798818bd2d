import type { RunRecord } from '../types.js'

/** A `runs` row; re-inserted with `ended_us` when the run ends (ReplacingMergeTree keeps the latest by updated_us). */
export function runRow(run: RunRecord, endedUs = 0): RunRecord & { ended_us: number; updated_us: number } {
  return { ...run, ended_us: endedUs, updated_us: Date.now() * 1000 }
}

/** A run id that sorts by time: `proxy-20261124-180102-3f9a`. */
export function newRunId(source: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `${source}-${stamp}-${Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0')}`
}
