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
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j)
  for (let i = 1; i <= ref.length; i++) {
    const cur = [i]
    for (let j = 1; j <= hyp.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (ref[i - 1] === hyp[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return (prev[hyp.length] as number) / ref.length
}
