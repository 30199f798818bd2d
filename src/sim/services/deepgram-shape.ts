import { randomUUID } from 'node:crypto'
import type { ErrorShaper } from '../http.js'

/** Deepgram's error body: `{"err_code", "err_msg", "request_id"}`. */
export const deepgramError: ErrorShaper = (status, message, code) => ({
  err_code: code ?? (status === 429 ? 'TOO_MANY_REQUESTS' : status === 400 ? 'Bad Request' : status === 404 ? 'NOT_FOUND' : 'INTERNAL_SERVER_ERROR'),
  err_msg: message,
  request_id: randomUUID(),
})

export const MODEL_UUID = '1abfe86b-e047-4eed-858a-35e5625b41ee'

export function modelInfo(model: string): { name: string; version: string; arch: string } {
  return { name: `general-${model}`, version: '2025-01-01.0', arch: model }
}

/** Bytes per second of raw audio in a Deepgram `encoding`, or undefined for one the simulator cannot measure. */
export function bytesPerSecond(encoding: string, sampleRate: number, channels: number): number | undefined {
  const width = { linear16: 2, linear32: 4, mulaw: 1, alaw: 1 }[encoding]
  return width === undefined ? undefined : width * sampleRate * channels
}
