import type { AudioEncoder } from './audio-format.js'
import { wait } from './http.js'
import type { ServiceContext } from './service.js'

/** Audio is produced in pieces of this many ms: small enough to stream, large enough not to flood the event loop. */
const PIECE_MS = 100

export type SynthesisEnd = 'ok' | 'aborted' | 'dropped'

/**
 * Streams `totalMs` of audio the way a TTS or speech model produces it: the first piece after the time to first byte,
 * the rest at the real-time factor (0.2: a second of audio every 200 ms), each piece slowed by the planted slowdown.
 * `emit` returns false when the caller is gone (or resolves once a full socket drains); `dropAt` (0–1) resets
 * part-way.
 */
export async function synthesize(ctx: ServiceContext, encoder: AudioEncoder, totalMs: number, emit: (bytes: Buffer) => boolean | Promise<boolean>, options: { signal?: AbortSignal; dropAt?: number; header?: boolean }): Promise<SynthesisEnd> {
  if (!(await wait(ctx.serviceMs(ctx.config.ttfb), options.signal))) return 'aborted'
  const header = options.header === false ? Buffer.alloc(0) : encoder.header(totalMs)
  for (let from = 0; from < totalMs; from += PIECE_MS) {
    if (options.dropAt !== undefined && from >= totalMs * options.dropAt) return 'dropped'
    const to = Math.min(totalMs, from + PIECE_MS)
    if (from > 0 && !(await wait((to - from) * ctx.config.realtime_factor * ctx.faults.slowdown(), options.signal))) return 'aborted'
    const piece = encoder.chunk(from, to)
    if (!(await emit(from === 0 && header.length > 0 ? Buffer.concat([header, piece]) : piece))) return 'aborted'
  }
  return 'ok'
}
