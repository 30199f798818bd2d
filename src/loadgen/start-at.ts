/**
 * A common start for generators that make one run together (`hopwatch load --shard i/N --start-at T` on N
 * machines): each waits for the same wall-clock instant, so their steps line up. Clocks are the machines' own
 * (NTP keeps them within milliseconds); the analysis names a shard whose steps started late.
 */

/** An instant as ISO 8601 (2026-12-01T17:00:00Z) or Unix seconds; undefined when it is neither. */
export function parseStartAt(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(text)) return undefined
  const ms = Date.parse(text)
  return Number.isFinite(ms) ? ms : undefined
}

/** Waits until `atMs` (wall clock) or until `signal` aborts; resolves with how late the wait ended, in ms (≥ 0). */
export function waitUntil(atMs: number, signal?: AbortSignal): Promise<number> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve(Math.max(0, Date.now() - atMs))
    }
    const timer = setTimeout(done, Math.max(0, atMs - Date.now()))
    signal?.addEventListener('abort', done, { once: true })
  })
}
