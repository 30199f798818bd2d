import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import type { LookupFunction } from 'node:net'

/** An answer this old is still used, and one refresh starts in the background (Envoy's default DNS refresh rate). */
export const DNS_REFRESH_MS = 5000

/** An answer no refresh could renew for this long is dropped: the next connection waits for a lookup of its own. */
export const DNS_STALE_MAX_MS = 60_000

/** getaddrinfo with every address, as `dns.lookup(name, { all: true })`. */
export type ResolveAll = (hostname: string, options: LookupOptions & { all: true }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void

type Answer = (err: NodeJS.ErrnoException | null, addresses?: LookupAddress[]) => void

interface Entry {
  addresses?: LookupAddress[] | undefined
  /** when `addresses` were resolved */
  at: number
  /** callers waiting for a lookup in flight; undefined when none is */
  waiting?: Answer[] | undefined
}

export interface DnsCacheOptions {
  refreshMs?: number
  staleMaxMs?: number
  resolve?: ResolveAll
  now?: () => number
}

/**
 * Upstream host names, resolved by the system's resolver (so /etc/hosts, search domains and nsswitch apply) and kept:
 * a connection to a name resolved before never waits for a lookup. `dns.lookup` runs on libuv's thread pool, which
 * the embedded store also uses (and runs at the lowest priority, engine-threads.ts), and a WebSocket relay opens one
 * upstream connection per call: without the cache every call's first hop would queue behind the store's inserts.
 * An answer older than `refreshMs` is still used while one lookup renews it in the background, as a DNS-refreshing
 * proxy does (Envoy's strict DNS, every 5 s); a name that stops resolving keeps its last answer for `staleMaxMs`.
 * IP literals never reach a lookup function (net.connect skips it).
 */
export class DnsCache {
  private readonly entries = new Map<string, Entry>()
  private readonly refreshMs: number
  private readonly staleMaxMs: number
  private readonly resolve: ResolveAll
  private readonly now: () => number
  private started = 0
  private calls = 0
  private resolved = 0
  private failed = 0

  constructor(options: DnsCacheOptions = {}) {
    this.refreshMs = options.refreshMs ?? DNS_REFRESH_MS
    this.staleMaxMs = options.staleMaxMs ?? DNS_STALE_MAX_MS
    this.resolve = options.resolve ?? (dnsLookup as unknown as ResolveAll)
    this.now = options.now ?? Date.now
  }

  /** A `lookup` for net.connect, undici's `connect` and ws: it answers with one address or all, as it is asked. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.calls++
    const all = options.all === true
    const answer: Answer = (err, addresses) => {
      if (err !== null) callback(err, all ? [] : '', undefined)
      else if (all) callback(null, (addresses as LookupAddress[]).map((a) => ({ ...a })))
      else callback(null, (addresses as LookupAddress[])[0]?.address ?? '', (addresses as LookupAddress[])[0]?.family)
    }
    const key = `${hostname}\u0000${String(options.family ?? 0)}\u0000${options.hints ?? 0}\u0000${String((options as { order?: string }).order ?? '')}`
    const entry = this.entries.get(key)
    const age = entry?.addresses === undefined ? Infinity : this.now() - entry.at
    if (entry?.addresses !== undefined && age < this.staleMaxMs) {
      // answered on the next tick, as dns.lookup itself does: net.connect attaches its listeners after calling it
      process.nextTick(answer, null, entry.addresses)
      if (age >= this.refreshMs && entry.waiting === undefined) this.renew(key, hostname, options, entry)
      return
    }
    const waiting = entry ?? { at: 0 }
    if (entry === undefined) this.entries.set(key, waiting)
    if (waiting.waiting !== undefined) {
      waiting.waiting.push(answer)
      return
    }
    waiting.addresses = undefined
    waiting.waiting = [answer]
    this.renew(key, hostname, options, waiting)
  }

  /** Connections that asked for an address so far. */
  get asked(): number {
    return this.calls
  }

  /** Lookups started so far, the first of each name and each renewal. */
  get lookups(): number {
    return this.started
  }

  /** For /metrics: connections that asked, and the lookups that came back resolved or failed (an error or no address). */
  counts(): { asked: number; resolved: number; failed: number } {
    return { asked: this.calls, resolved: this.resolved, failed: this.failed }
  }

  /** One lookup for `key`; its answer goes to every caller waiting for it, and replaces the entry's. */
  private renew(key: string, hostname: string, options: LookupOptions, entry: Entry): void {
    entry.waiting ??= []
    const { all: _all, ...rest } = options
    this.started++
    const settle = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]): void => {
      const waiting = entry.waiting ?? []
      entry.waiting = undefined
      const failed = err ?? (addresses.length === 0 ? notFound(hostname) : null)
      if (failed === null) {
        this.resolved++
        entry.addresses = addresses
        entry.at = this.now()
      } else {
        this.failed++
        if (entry.addresses === undefined || this.now() - entry.at >= this.staleMaxMs) {
          // nothing to fall back on: the error goes to whoever waits, and the next connection looks up again
          entry.addresses = undefined
          this.entries.delete(key)
        }
      }
      for (const answer of waiting) {
        if (failed !== null && entry.addresses === undefined) answer(failed)
        else answer(null, entry.addresses)
      }
    }
    try {
      this.resolve(hostname, { ...rest, all: true }, settle)
    } catch (err) {
      // a lookup refused at once (dns.lookup throws on arguments it rejects) must not leave callers waiting on it
      process.nextTick(settle, err as NodeJS.ErrnoException, [])
    }
  }
}

function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname })
}

/** The proxy's cache for its upstreams' names: one per process, whatever the number of upstreams. */
export const upstreamDns = new DnsCache()
