import type { Adapter, HopMarks, HttpObserver, RequestInfo } from './types.js'

/** The generic observer: the first response byte is the payload, the last is final (TTFB and total for plain HTTP). */
export function firstByteObserver(marks: HopMarks): HttpObserver {
  return {
    onResponseData: () => marks.firstPayload(),
    onResponseEnd: () => marks.final(),
  }
}

/** A JSON answer is read up to this size; past it what it says (usage, duration) is simply not recorded. */
const MAX_JSON_BYTES = 1024 * 1024

/**
 * A JSON answer: its first byte is the payload, its end is final, and its parsed body goes to `read` at the end (not
 * for bodies over 1 MiB, or that are not JSON: plain-text transcripts). Error answers have no payload (the core).
 */
export function jsonBodyObserver(marks: HopMarks, read: (body: unknown) => void): HttpObserver {
  const chunks: Buffer[] = []
  let size = 0
  return {
    onResponseData(chunk) {
      marks.firstPayload()
      size += chunk.length
      if (size <= MAX_JSON_BYTES) chunks.push(chunk)
    },
    onResponseEnd() {
      marks.final()
      if (size > MAX_JSON_BYTES || size === 0) return
      let body: unknown
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        return
      }
      read(body)
    },
  }
}

/**
 * For provider APIs whose work is always a POST (OpenAI and compatible servers, Deepgram, ElevenLabs): any other
 * method (`GET /v1/models`, a voice listing, an account lookup) is auxiliary, recorded but never judged.
 */
export function auxiliaryUnlessPost(request: RequestInfo): boolean {
  return request.method !== 'POST'
}

/** Plain HTTP (backend APIs, anything without a dedicated adapter): the core's generic observer does all of it. */
export const httpAdapter: Adapter = { name: 'http' }
