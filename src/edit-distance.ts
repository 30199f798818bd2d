/** Levenshtein distance between two sequences (characters of a word, words of a transcript): insertions, deletions and substitutions. */
export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length] as number
}

/** The choice with the smallest edit distance, when it is close enough to be a likely typo. */
export function closest(word: string, choices: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1
  for (const choice of choices) {
    const d = editDistance([...word.toLowerCase()], [...choice.toLowerCase()])
    if (d < bestDistance) {
      best = choice
      bestDistance = d
    }
  }
  return best
}

/** " Did you mean X?" for a likely typo of one of `choices`, else "". */
export function didYouMean(word: string, choices: readonly string[], show: (choice: string) => string = (c) => c): string {
  const near = closest(word, choices)
  return near === undefined ? '' : ` Did you mean ${show(near)}?`
}
