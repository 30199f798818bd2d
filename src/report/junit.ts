import { describeTrend, leaks, soakMemory, type Analysis, type Slos } from '../analyze/index.js'

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

/** Every SLO the analysis judged, as the names its breaches carry. */
export function sloNames(slos: Slos): string[] {
  return ['response p95', 'success', ...Object.keys(slos.components_p95_ms).map((c) => `${c} p95`)]
}

/** An SLO as a person reads it: "response p95 ≤ 1500 ms", "success ≥ 95 %". */
export function sloObjective(name: string, slos: Slos): string {
  return name === 'success' ? `success ≥ ${(slos.success_min * 100).toFixed(0)} %` : `${name} ≤ ${name === 'response p95' ? slos.response_p95_ms : slos.components_p95_ms[name.replace(/ p95$/, '')]} ms`
}

/** Breaches at or below `peak` load (every load when undefined): what a CI gate fails on. */
export function breachesUpTo(analysis: Analysis, peak: number | undefined): Analysis['breaches'] {
  return analysis.breaches.filter((b) => peak === undefined || b.load <= peak)
}

/** One SLO's outcome: held, or where and by how much it broke (up to the expected peak). */
export interface SloCheck {
  name: string
  /** the objective, as a person reads it: "response p95 ≤ 1500 ms", "success ≥ 95 %" */
  objective: string
  held: boolean
  /** each breach: "at load 25 (step 4): 2158 ms > 1500 ms" */
  breaches: string[]
}

/** Every SLO the run was judged against, held or broken at some load up to `peak` (every load when undefined). */
export function sloChecks(analysis: Analysis, slos: Slos, peak: number | undefined): SloCheck[] {
  const gated = breachesUpTo(analysis, peak)
  return sloNames(slos).map((name) => {
    const objective = sloObjective(name, slos)
    const hits = gated.filter((b) => b.slo === name)
    const breaches = hits.map((b) => `at load ${b.load} (step ${b.step}): ${b.slo === 'success' ? `${(b.value * 100).toFixed(1)} % < ${(b.limit * 100).toFixed(0)} %` : `${b.value.toFixed(0)} ms > ${b.limit} ms`}`)
    return { name, objective, held: hits.length === 0, breaches }
  })
}

/**
 * JUnit XML with one test case per SLO: it fails when the SLO is broken at any load up to the expected peak, and
 * says where and by how much. CI systems show these as tests.
 */
export function junitXml(analysis: Analysis, slos: Slos, peak: number | undefined): string {
  const checks = sloChecks(analysis, slos, peak)
  const cases = checks.map((check) => {
    const title = `${check.name} holds${peak !== undefined ? ` up to ${peak}` : ' at every load tested'}`
    if (check.held) return `    <testcase classname="hopwatch.slo" name="${escapeXml(title)}"/>`
    return `    <testcase classname="hopwatch.slo" name="${escapeXml(title)}">\n      <failure message="${escapeXml(`${check.name} breached ${check.breaches.length} time(s)`)}">${escapeXml(check.breaches.join('\n'))}</failure>\n    </testcase>`
  })
  // a soak: one more case per memory series, failing when it rises, skipped (saying why) when too short to tell
  for (const t of soakMemory(analysis.resources)) {
    const title = `    <testcase classname="hopwatch.resources" name="${escapeXml(`${t.target} ${t.metric} does not rise during the soak`)}"`
    if (t.verdict === 'rising') cases.push(`${title}>\n      <failure message="${escapeXml(`${t.target} memory is rising`)}">${escapeXml(describeTrend(t))}</failure>\n    </testcase>`)
    else if (t.verdict === 'too_short') cases.push(`${title}>\n      <skipped message="${escapeXml(describeTrend(t))}"/>\n    </testcase>`)
    else cases.push(`${title}/>`)
  }
  // a run that is no evidence passes nothing: its SLO cases are skipped (a breach seen at a valid step still fails)
  // and one case fails saying why
  const noEvidence = analysis.confidence === 'cannot_tell'
  if (noEvidence) {
    for (let i = 0; i < cases.length; i++) cases[i] = (cases[i] as string).replace(/"\/>$/, `">\n      <skipped message="${escapeXml(analysis.verdict)}"/>\n    </testcase>`)
    cases.push(`    <testcase classname="hopwatch.evidence" name="the run is evidence for its verdict">\n      <failure message="cannot tell">${escapeXml(analysis.verdict)}</failure>\n    </testcase>`)
  }
  const failures = (noEvidence ? 1 : 0) + checks.filter((c) => !c.held).length + leaks(analysis.resources).length
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="hopwatch" tests="${cases.length}" failures="${failures}">
  <testsuite name="${escapeXml(`hopwatch ${analysis.run.run_id}`)}" tests="${cases.length}" failures="${failures}">
    <properties>
      <property name="verdict" value="${escapeXml(analysis.verdict)}"/>
    </properties>
${cases.join('\n')}
  </testsuite>
</testsuites>
`
}
