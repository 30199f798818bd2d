/** A status marker after a number (▲ degraded, · blip, ? too few, ✗ invalid): kept in a slot of its own. */
const MARKER = / [▲·?✗]$/
const NUMBER = /^[-+]?[\d.,]+( ?[a-z%]+)?$/i

/**
 * An aligned text table with a header row. A column of numbers (with units, a status marker after them, or "-"
 * for none) is right-aligned on its numbers, markers in a column of their own; any other column is left-aligned.
 */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cell = (r: readonly string[], i: number) => r[i] ?? ''
  const body = (c: string) => c.replace(MARKER, '')
  const numeric = header.map((_, i) => rows.some((r) => NUMBER.test(body(cell(r, i)))) && rows.every((r) => cell(r, i) === '-' || NUMBER.test(body(cell(r, i)))))
  const marked = header.map((_, i) => rows.some((r) => MARKER.test(cell(r, i))))
  // the widest number of each numeric column, once (not per cell)
  const bodyWidths = header.map((_, i) => (numeric[i] === true ? rows.reduce((w, r) => Math.max(w, body(cell(r, i)).length), 0) : 0))
  const shown = rows.map((r) =>
    header.map((_, i) => {
      const c = cell(r, i)
      if (!numeric[i]) return c
      const b = body(c)
      return `${b.padStart(bodyWidths[i] ?? 0)}${marked[i] === true ? (c.length > b.length ? c.slice(b.length) : '  ') : ''}`
    }),
  )
  const widths = header.map((h, i) => Math.max(h.length, ...shown.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[], isHeader: boolean) =>
    `  ${cells.map((c, i) => (numeric[i] === true && !(isHeader && marked[i] === true) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()}\n`
  return line(header, true) + shown.map((r) => line(r, false)).join('')
}
