/**
 * The one percentile definition of hopwatch: Hyndman & Fan's type 7 (R's and numpy's default), interpolating between
 * the order statistics around (n − 1)·q. The analyzer's verdicts compute it in TypeScript (quantileSorted) and the
 * store's tables in SQL (type7QuantilesSql, the same formula over a sorted array): ClickHouse's quantileExact takes
 * the order statistic at ⌊n·q⌋ instead, and quantileExactInclusive, which is type 7, is not on 18.x servers.
 */

/** The q-quantile (0–1) of ascending-sorted values; NaN for none. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const h = (sorted.length - 1) * q
  const lo = Math.floor(h)
  const hi = Math.ceil(h)
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number))
}

/**
 * SQL for the type-7 quantiles of an ascending-sorted array expression (e.g. `arraySort(groupArray(x))`, bound to
 * `alias` in the SELECT so it is sorted once): an array of the quantiles, 0 for each when the array is empty.
 */
export function type7QuantilesSql(alias: string, qs: readonly number[]): string {
  const one = (q: number) => {
    // a float literal even for 0 or 1: an integer h makes that quantile an Int64 beside the others' Float64, and
    // 18.x finds no common type for the array (Code 386)
    const h = `(length(${alias}) - 1) * ${Number.isInteger(q) ? `${q}.0` : q}`
    const lo = `${alias}[toUInt64(floor(${h})) + 1]`
    const hi = `${alias}[toUInt64(ceil(${h})) + 1]`
    return `if(length(${alias}) = 0, 0, ${lo} + (${h} - floor(${h})) * (${hi} - ${lo}))`
  }
  return `[${qs.map(one).join(', ')}]`
}
