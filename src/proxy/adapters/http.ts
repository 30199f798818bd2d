import type { Adapter, HopMarks, HttpObserver } from './types.js'

/** The generic observer: the first response byte is the payload, the last is final (TTFB and total for plain HTTP). */
export function firstByteObserver(marks: HopMarks): HttpObserver {
  return {
    onResponseData: () => marks.firstPayload(),
    onResponseEnd: () => marks.final(),
  }
}

/** Plain HTTP (backend APIs, anything without a dedicated adapter): the core's generic observer does all of it. */
export const httpAdapter: Adapter = { name: 'http' }
