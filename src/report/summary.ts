import { describeTrend, MIN_TREND_SPAN_S, type Analysis } from '../analyze/index.js'
import { sloChecks } from './junit.js'
import { table } from './table.js'

const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : `${v.toFixed(0)} ms`)
const pct = (n: number, d: number) => (d > 0 ? `${((n / d) * 100).toFixed(1)} %` : '-')
/** A number rounded for show: never "-0". */
export const fixed = (v: number, digits: number) => {
  const text = v.toFixed(digits)
  return /^-0(\.0+)?$/.test(text) ? text.slice(1) : text
}
/** A change in ms: "+12 ms", "-3 ms", or "0 ms" when it rounds to nothing. */
export const change = (v: number) => {
  const text = fixed(v, 0)
  return `${v > 0 && text !== '0' ? '+' : ''}${text} ms`
}

/** The terminal summary: the headline first, then the callers' view per step, then each component's p95 per step. */
export function renderTable(a: Analysis, peak?: number, options: { slos: boolean } = { slos: true }): string {
  let out = `${a.verdict}\n\nrun ${a.run.run_id}${a.run.name !== '' ? ` (${a.run.name})` : ''}\n\n`
  out += 'Callers, per step (response = user stops speaking → first agent audio):\n'
  out += table(
    ['step', 'load', 'turns', 'p50', 'p95', 'p99', 'success', 'interrupted', 'hung up', 'censored', 'WER', '<0.5 s', '0.5–1', '1–2', '2–3', '>3 s', 'evidence'],
    a.steps.map((s) => {
      const t = s.turns
      const n = t?.turns ?? 0
      return [String(s.step), String(s.load), String(n), ms(t?.p50_ms), ms(t?.p95_ms), ms(t?.p99_ms), pct(t?.success ?? 0, n), pct(t?.interrupted ?? 0, n), pct(t?.hung_up ?? 0, n), pct(t?.censored ?? 0, n), t !== undefined ? t.wer.toFixed(3) : '-', ...(t?.bands ?? [0, 0, 0, 0, 0]).map((b) => pct(b, n)), evidence(a, s)]
    }),
  )
  const components = [...new Set(a.steps.flatMap((s) => Object.keys(s.components)))].sort()
  out += '\nComponent p95 per step (▲ degraded, · blip, ? too few samples, ✗ invalid step), error rate, and the share of latencies that are lower bounds (cut short):\n'
  out += table(
    ['step', 'load', ...components.flatMap((c) => [`${c} p95`, 'err', 'cens']), 'network p95'],
    a.steps.map((s) => [
      String(s.step),
      String(s.load),
      ...components.flatMap((c) => {
        const x = s.components[c]
        if (x === undefined) return ['-', '-', '-']
        const mark = x.status === 'degraded' ? ' ▲' : x.status === 'blip' ? ' ·' : x.status === 'too_few' ? ' ?' : x.status === 'invalid' ? ' ✗' : ''
        return [`${ms(x.p95_ms)}${mark}`, `${(x.error_rate * 100).toFixed(1)} %`, `${(x.censored_share * 100).toFixed(1)} %`]
      }),
      ms(s.network_p95_ms ?? undefined),
    ]),
  )
  const baselineAt = a.baseline === null ? 'no baseline' : `the baseline, step${a.baseline.steps.length > 1 ? 's' : ''} ${a.baseline.steps.join(' and ')}`
  out += `\nDegradation (first step where p95 rose at least max(20 %, 50 ms) over ${baselineAt}, significantly with Holm's adjustment over every step and series, and the next step confirms it):\n`
  out += table(
    ['', 'degraded at', 'p95', '× baseline', 'rise (95 % interval)', 'p (Holm)'],
    [...Object.entries(a.degraded_at), ['response', a.turn_degraded_at] as const].map(([name, d]) => [
      name,
      d === null ? 'not degraded' : `step ${d.step} (${d.load})`,
      d === null ? '-' : ms(d.p95_ms),
      d === null ? '-' : d.ratio.toFixed(2),
      d === null ? '-' : `+${d.rise_ms.toFixed(0)} ms (${d.interval_ms[0].toFixed(0)} to ${d.interval_ms[1].toFixed(0)})`,
      d === null ? '-' : d.p < 0.0001 ? '<0.0001' : d.p.toFixed(4),
    ]),
  )
  if (a.invalid_steps.length > 0) out += `\nnot evidence: ${a.invalid_steps.map((s) => `step ${s.step} (${s.load}): ${s.reason}`).join('; ')}\n`
  if (a.attribution !== null) {
    const at = a.attribution
    out += `\nWhere the response time went (mean ${at.baseline_ms.toFixed(0)} ms at steps ${at.baseline_steps.join(', ')} → ${at.degraded_ms.toFixed(0)} ms at steps ${at.degraded_steps.join(', ')}; per-turn critical paths of ${at.turns.baseline} + ${at.turns.degraded} turns):\n`
    out += table(
      ['', 'growth', 'share'],
      Object.entries(at.components)
        .sort((x, y) => y[1].growth_ms - x[1].growth_ms)
        .map(([name, c]) => [name, change(c.growth_ms), `${fixed(c.share * 100, 0)} %`]),
    )
  }
  if (a.wer_degraded_at !== null) out += `\nSTT word error rate degraded at step ${a.wer_degraded_at.step} (${a.wer_degraded_at.load}): mean ${a.wer_degraded_at.wer.toFixed(3)} against ${a.wer_degraded_at.baseline.toFixed(3)} at baseline (p ${a.wer_degraded_at.p < 0.0001 ? '<0.0001' : a.wer_degraded_at.p.toFixed(4)})\n`
  out += a.capacity !== undefined ? `\ncapacity: ${a.capacity.load} (every SLO holds up to step ${a.capacity.step})${a.capacity.limited_by !== undefined ? `; limited by ${a.capacity.limited_by}` : ''}${a.capacity.conversations_per_hour !== null ? `; about ${Math.round(a.capacity.conversations_per_hour)} conversations per hour at that level` : ''}\n` : '\ncapacity: below the lowest load tested\n'
  if (a.spike !== null) out += `spike: degraded ${a.spike.degraded} (${a.spike.rejections} rejections, ${a.spike.drops} dropped or hung up); ${a.spike.recovery_s !== null ? `back to baseline (p95 ${a.spike.baseline.p95_ms.toFixed(0)} ms, failures ${(a.spike.baseline.failure_rate * 100).toFixed(1)} %) ${Math.round(a.spike.recovery_s)} s after the spike` : 'not back to baseline by the end of the run'}\n`
  if (a.failure !== null) out += `failure: at ${a.failure.load} (step ${a.failure.step}) ${(a.failure.error_rate * 100).toFixed(1)} % of turns fail and ${(a.failure.hang_up_rate * 100).toFixed(1)} % end in a hang-up${Object.keys(a.failure.kinds).length > 0 ? `; errors: ${Object.entries(a.failure.kinds).map(([k, n]) => `${k} ${n}`).join(', ')}` : ''}\n`

  out += renderResources(a)
  out += renderAlerts(a)
  if (options.slos) out += renderSloChecks(a, peak)
  return out
}

const MB = 1024 * 1024

/** A step's standing as evidence: invalid and why, too few turns for a p95, or valid. */
function evidence(a: Analysis, s: Analysis['steps'][number]): string {
  if (s.invalid !== undefined) return `✗ ${s.invalid}`
  if (a.baseline?.steps.includes(s.step) === true) return 'baseline'
  const statuses = Object.values(s.components).map((c) => c.status)
  return statuses.length > 0 && statuses.every((x) => x === 'too_few') ? 'too few turns' : 'valid'
}

/** Per sampled target: memory, fds and threads with their trends, the most CPU used, and the headroom breaches. */
function renderResources(a: Analysis): string {
  const r = a.resources
  let out = ''
  if (r !== null) {
    const targets = [...new Set([...r.trends.map((t) => t.target), ...r.cpu.map((c) => c.target)])]
    const short = r.trends.length > 0 && r.trends.every((t) => t.too_short_because === 'span')
    if (short) {
      // a short run (the demo, a CI ramp) has no trend to tell: one line says where trends come from
      const span = Math.max(...r.trends.map((t) => t.span_s))
      out += `\nResources: ${targets.map((target) => {
        const cpu = r.cpu.find((c) => c.target === target)
        const rss = r.trends.find((t) => t.target === target && t.kind === 'memory')
        return `${target} ${rss !== undefined ? `${(rss.last / MB).toFixed(0)} MB` : ''}${cpu !== undefined ? `${rss !== undefined ? ', ' : ''}peak ${cpu.peak_cores.toFixed(2)} cores` : ''}`
      }).join('; ')}. Trends need ${MIN_TREND_SPAN_S} s of samples after the warm-up (this run has ${Math.round(span)} s): a soak test shows them.\n`
    } else {
      out += `\nResources (trends per hour of wall-clock time; memory on its lower envelope, so GC cycles do not count${r.constant_load ? '' : '; the load changed during the run, so a rise may follow the load: a soak tells a leak'}):\n`
      out += table(
        ['target', 'series', 'last', 'trend', 'peak CPU'],
        targets.flatMap((target) => {
          const cpu = r.cpu.find((c) => c.target === target)
          const cpuText = cpu !== undefined ? `${cpu.peak_cores.toFixed(2)}${cpu.limit_cores !== null ? ` of ${cpu.limit_cores}` : ''} cores` : '-'
          return r.trends.filter((t) => t.target === target).map((t, i) => [i === 0 ? target : '', t.metric, t.kind === 'memory' ? `${(t.last / MB).toFixed(0)} MB` : String(t.last), describeTrend(t), i === 0 ? cpuText : ''])
        }),
      )
    }
    for (const s of r.saturation) out += `headroom: ${s.target} ${s.resource === 'cpu' ? `used ${s.value.toFixed(2)} of ${s.limit} cores` : `reached ${(s.value / MB).toFixed(0)} of ${(s.limit / MB).toFixed(0)} MB`} (${(s.share * 100).toFixed(0)} %) at step ${s.step} (${s.load})\n`
    for (const u of r.unreadable) out += `unreadable: ${u.target} could not be read at ${u.samples} samples\n`
  }
  const c = a.latency_creep
  if (c !== null) out += `\nlatency over the soak: median response ${c.verdict} ${c.slope_per_hour.toFixed(0)} ms/h (95 % CI ${c.ci_per_hour[0].toFixed(0)}…${c.ci_per_hour[1].toFixed(0)}, p ${c.p < 0.0001 ? '< 0.0001' : c.p.toFixed(4)}) over ${Math.round(c.span_s)} s\n`
  return out
}

/** The k6-style ending: one line per SLO, ✓ held or ✗ broken (where, and by how much), up to the expected peak. */
export function renderSloChecks(a: Analysis, peak: number | undefined): string {
  const checks = sloChecks(a, a.slos, peak)
  const lines = checks.map((c) => `  ${c.held ? '✓' : '✗'} ${c.objective}${c.held ? '' : `: ${c.breaches.join('; ')}`}`)
  const scope = peak !== undefined ? `up to load ${peak}` : 'at every load tested'
  const evidence = a.confidence === 'cannot_tell' ? '  (the run is no evidence: see the headline; a ✓ here proves nothing)\n' : ''
  return `\nSLOs ${scope}: ${checks.filter((c) => c.held).length} of ${checks.length} held\n${lines.join('\n')}\n${evidence}`
}

/** Which alerts fired during the run, when, and when they were resolved. */
function renderAlerts(a: Analysis): string {
  const fired = a.alerts.filter((x) => x.state === 'firing')
  if (fired.length === 0) return a.alerts.length > 0 ? '\nalerts: none fired (some were pending and cleared)\n' : ''
  const t0 = a.alerts[0]?.at_us ?? 0
  const lines = fired.map((f) => {
    const end = a.alerts.find((x) => x.rule === f.rule && x.component === f.component && x.state === 'resolved' && x.at_us >= f.at_us)
    return `  ${f.rule} ${f.component} fired at +${((f.at_us - t0) / 1e6).toFixed(1)} s${end !== undefined ? `, resolved ${((end.at_us - f.at_us) / 1e6).toFixed(1)} s later${/the run ended/.test(end.message) ? ' (when the run ended)' : ''}` : ''}: ${f.message}`
  })
  return `\nalerts: ${fired.length} fired (hopwatch alerts list for every change)\n${lines.join('\n')}\n`
}
