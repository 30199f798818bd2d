import { presentRows, StoreError, type QueryLines, type RowSink, type StoreOwner } from '../store/index.js'

const headers = (owner: StoreOwner) => ({ 'content-type': 'application/json', authorization: `Bearer ${owner.admin_token}` })

async function errorOf(res: Response): Promise<string> {
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } }
  return body.error?.message ?? `${res.status} ${res.statusText}`
}

/** Read-only SQL through the owner's admin API, as JSON lines. */
export function adminQuery(owner: StoreOwner): QueryLines {
  return async function* (sql) {
    const res = await fetch(`${owner.admin_url}/_hopwatch/sql`, { method: 'POST', body: JSON.stringify({ sql }), headers: headers(owner) })
    if (!res.ok) throw new StoreError('HW_STORE_QUERY', await errorOf(res))
    let pending = ''
    // a character split across chunks is joined, not mangled
    const decoder = new TextDecoder()
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      pending += decoder.decode(chunk, { stream: true })
      let nl: number
      while ((nl = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, nl)
        pending = pending.slice(nl + 1)
        if (line !== '') yield line
      }
    }
    pending += decoder.decode()
    if (pending.trim() !== '') yield pending
  }
}

/**
 * Batches written through the owner's admin API (POST /_hopwatch/rows) into the store it holds: how `hopwatch load`
 * beside a `hopwatch proxy` on the same embedded store puts its turns and steps in the proxy's run store. A failed
 * POST (the proxy gone or restarting) fails the batch, which the writer spills and retries like a store that is down.
 */
export class AdminSink implements RowSink {
  constructor(
    private readonly owner: StoreOwner,
    private readonly database: string,
    private readonly timeoutMs = 30_000,
  ) {}

  present(table: string, rows: readonly object[]): Promise<boolean[]> {
    return presentRows(adminQuery(this.owner), this.database, table, rows)
  }

  async insert(table: string, rows: readonly object[]): Promise<void> {
    const res = await fetch(`${this.owner.admin_url}/_hopwatch/rows`, { method: 'POST', body: JSON.stringify({ table, rows }), headers: headers(this.owner), signal: AbortSignal.timeout(this.timeoutMs) })
    if (!res.ok) throw new Error(`the proxy that owns the store (pid ${this.owner.pid}) did not take ${rows.length} ${table} rows: ${await errorOf(res)}`)
    await res.arrayBuffer()
  }
}
