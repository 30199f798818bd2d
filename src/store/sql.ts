/**
 * SQL literals quoted on the client side: the 18.x servers the store must support have no server-side query
 * parameters (`{name:Type}`), so values are escaped here, in one place.
 */

/** A ClickHouse string literal. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

/** A database or table name, checked rather than escaped: the store only ever uses plain names. */
export function identifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a plain SQL identifier: ${JSON.stringify(name)}`)
  return name
}
