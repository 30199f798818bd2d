import { describeTrend, leaks, type Analysis } from '../analyze/index.js'
import { breachesUpTo } from './junit.js'

/**
 * Why a CI gate (`--fail-on-breach`) fails the run, or undefined when it passes: the run is no evidence for its
 * verdict; an SLO broke at or below the expected peak (every load tested when none is given); memory rose during a
 * soak.
 */
export function gateFailure(analysis: Analysis, peak: number | undefined): string | undefined {
  if (analysis.confidence === 'cannot_tell') return `the run is no evidence for a gate: ${analysis.verdict}`
  const gated = breachesUpTo(analysis, peak)
  const reasons: string[] = []
  if (gated.length > 0) reasons.push(`SLO breached at or below ${peak ?? 'the highest load tested'}: ${gated.map((b) => `${b.slo} at ${b.load}`).join(', ')}`)
  for (const t of leaks(analysis.resources)) reasons.push(`${t.target}'s ${t.metric} is rising during the soak: ${describeTrend(t)}`)
  return reasons.length > 0 ? reasons.join('\n') : undefined
}
