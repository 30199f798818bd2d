import type { Probe } from './probe.js'

/**
 * Parses Prometheus' text exposition format (version 0.0.4) for the named metrics: each series becomes a metric
 * named as it is exposed, `name{label="value",…}`, with the labels in their exposed order. Histograms' and
 * summaries' series are matched by their own names (`x_bucket`, `x_sum`).
 */
export function parseExposition(text: string, names: readonly string[]): Record<string, number> {
  const wanted = new Set(names)
  const out: Record<string, number> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const nameEnd = line.search(/[{\s]/)
    const name = nameEnd === -1 ? line : line.slice(0, nameEnd)
    if (!wanted.has(name)) continue
    let rest = line.slice(name.length)
    let series = name
    if (rest.startsWith('{')) {
      const close = closingBrace(rest)
      series = `${name}${rest.slice(0, close + 1)}`
      rest = rest.slice(close + 1)
    }
    const value = parseValue(rest.trim().split(/\s+/)[0] ?? '')
    if (value !== undefined) out[series === `${name}{}` ? name : series] = value
  }
  return out
}

/** The index of the `}` that closes the label set, skipping braces inside quoted label values. */
function closingBrace(s: string): number {
  let quoted = false
  for (let i = 1; i < s.length; i++) {
    const c = s[i]
    if (quoted && c === '\\') i++
    else if (c === '"') quoted = !quoted
    else if (c === '}' && !quoted) return i
  }
  return s.length - 1
}

function parseValue(s: string): number | undefined {
  if (s === '+Inf') return Infinity
  if (s === '-Inf') return -Infinity
  const v = Number(s)
  return s === '' || Number.isNaN(v) ? undefined : v
}

/** A Prometheus endpoint's gauges (a model server's GPU utilisation and queue depth, any component's memory). */
export function prometheusProbe(name: string, url: string, metrics: readonly string[], timeoutMs: number, limits?: Record<string, number>): Probe {
  return {
    name,
    kind: 'prometheus',
    ...(limits !== undefined ? { limits } : {}),
    async read() {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'text/plain;version=0.0.4' } })
      const text = await res.text()
      if (!res.ok) throw new Error(`${url} answered ${res.status}`)
      const values = parseExposition(text, metrics)
      if (Object.keys(values).length === 0) throw new Error(`${url} exposes none of ${metrics.join(', ')}`)
      return values
    },
  }
}
