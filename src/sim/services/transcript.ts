import type { ServiceContext } from '../service.js'
import { degrade, sentence } from '../text.js'

/** Words per second of conversational speech, for a transcript of audio whose text the caller did not send. */
const WORDS_PER_S = 2.5

/**
 * The transcript of `audioMs` of speech: the caller's expected text (or a generated one of a plausible length),
 * degraded by the word error model at the service's load. At or below capacity the error rate is `wer.base`; each
 * unit of load beyond (load = requests in service and queued over workers) adds `wer.growth`.
 */
export function transcribe(ctx: ServiceContext, expected: string | undefined, audioMs: number, load: number): string {
  const text = expected ?? sentence(ctx.rng, Math.max(1, Math.round((audioMs / 1000) * WORDS_PER_S)))
  const errorRate = Math.min(1, ctx.config.wer.base + ctx.config.wer.growth * Math.max(0, load - 1))
  return degrade(text, errorRate, ctx.rng)
}

/** Word timings spread evenly over the audio, in Deepgram's shape. */
export function wordTimings(transcript: string, startS: number, durationS: number): Array<{ word: string; start: number; end: number; confidence: number; punctuated_word: string }> {
  const list = transcript.split(/\s+/).filter((w) => w !== '')
  const each = list.length > 0 ? durationS / list.length : 0
  return list.map((w, i) => ({ word: w.toLowerCase().replace(/[^\p{L}\p{N}']/gu, ''), start: round(startS + i * each), end: round(startS + (i + 1) * each), confidence: 0.97, punctuated_word: w }))
}

export function round(n: number): number {
  return Math.round(n * 1000) / 1000
}
