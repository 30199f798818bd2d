import { editDistance } from './edit-distance.js'

/** Normalised words for scoring: lower case, punctuation dropped (what WER tools such as jiwer do by default). */
export function scoringWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}'\s]/gu, ' ')
    .split(/\s+/)
    .filter((w) => w !== '')
}

/**
 * Word error rate of `hypothesis` against `reference`: (substitutions + deletions + insertions) / reference words,
 * from the word-level edit distance. An empty reference scores 0 for an empty hypothesis, else 1.
 */
export function wordErrorRate(reference: string, hypothesis: string): number {
  const ref = scoringWords(reference)
  const hyp = scoringWords(hypothesis)
  if (ref.length === 0) return hyp.length === 0 ? 0 : 1
  return editDistance(ref, hyp) / ref.length
}
