import type { Rng } from './random.js'

/** Common words of booking and support calls: generated answers and transcripts read like a call, not like noise. */
const WORDS = (
  'i would like to book a table for two tonight at seven thanks can you check my order status please the delivery ' +
  'was late again what time do you open tomorrow morning sure let me look that up for you one moment your booking is ' +
  'confirmed is there anything else i can help with today we have availability on friday evening and saturday lunch ' +
  'i need to change my address the account number is on the card could you repeat that yes no great perfect'
).split(' ')

/** Words of a text (what the simulator counts as tokens, and what WER is computed over). */
export function words(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0)
}

/** A plausible sentence of `count` words. */
export function sentence(rng: Rng, count: number): string {
  const out: string[] = []
  for (let i = 0; i < count; i++) out.push(rng.pick(WORDS))
  const text = out.join(' ')
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`
}

/**
 * The transcript a loaded recogniser produces: each word is substituted or deleted with probability `errorRate`
 * (in equal parts), so the word error rate of the result against `text` is about `errorRate`.
 */
export function degrade(text: string, errorRate: number, rng: Rng): string {
  if (errorRate <= 0) return text
  const out: string[] = []
  for (const word of words(text)) {
    if (!rng.chance(errorRate)) out.push(word)
    else if (rng.chance(0.5)) out.push(rng.pick(WORDS))
    // else: deleted
  }
  return out.join(' ')
}

/** Decodes a text a caller sent in a header (percent-encoded, so any UTF-8 survives HTTP). */
export function headerText(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value
  if (raw === undefined || raw === '') return undefined
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

/** Roughly what a tokenizer counts: a token per four characters, at least one per word. */
export function tokenCount(text: string): number {
  return Math.max(words(text).length, Math.ceil(text.length / 4))
}
