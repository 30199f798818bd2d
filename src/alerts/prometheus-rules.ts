import { stringify } from 'yaml'
import { MIN_UNBROKEN_RISE_S } from '../analyze/resources.js'
import type { AlertsConfig } from '../config/index.js'

/** A Prometheus duration from seconds: whole seconds, at least 1 s. */
const duration = (s: number) => `${Math.max(1, Math.round(s))}s`

const LABEL = /^[a-z][a-z0-9_-]*$/
/** How much longer than the samples it asks for the memory rule looks back: a scrape interval and a step or two. */
const HISTORY_SLACK_S = 120

/**
 * The live rules as a Prometheus rule file over the proxy's `/metrics` (and any scraped process's resident memory),
 * so a Prometheus that scrapes hopwatch alerts the same way when hopwatch is not the one watching. Differences,
 * said in each rule's annotations: the quantile is the histogram's (bucket-interpolated), and the memory slope is
 * `deriv` (least squares) over a lower envelope (`min_over_time`), not Theil–Sen with a significance test.
 */
export function prometheusRules(alerts: AlertsConfig): string {
  const w = duration(alerts.window_s)
  const forDuration = duration(alerts.for_s)
  const enough = (by: string) => `sum by (${by}) (increase(hopwatch_hops_total[${w}])) >= ${alerts.min_events}`
  const rules: unknown[] = []
  for (const [component, ms] of Object.entries(alerts.rules.component_p95_ms)) {
    if (!LABEL.test(component)) continue
    rules.push({
      alert: 'HopwatchComponentP95AboveSlo',
      expr: `histogram_quantile(0.95, sum by (le, component) (rate(hopwatch_component_latency_seconds_bucket{component="${component}"}[${w}]))) > ${ms / 1000}\nand on (component) ${enough('component')}`,
      for: forDuration,
      labels: { severity: 'warning', rule: 'component_p95_above_slo', component },
      annotations: {
        summary: `${component} p95 above its SLO of ${ms} ms`,
        description: `{{ $labels.component }} p95 is {{ $value | humanizeDuration }} over the last ${w} (SLO ${ms} ms); the quantile is interpolated within the histogram's buckets.`,
      },
    })
  }
  rules.push({
    alert: 'HopwatchErrorRateAboveLimit',
    expr: `(sum by (component) (rate(hopwatch_hop_errors_total{kind!="client_abort"}[${w}])) / sum by (component) (rate(hopwatch_hops_total[${w}]))) > ${alerts.rules.error_rate_max}\nand on (component) ${enough('component')}`,
    for: forDuration,
    labels: { severity: 'critical', rule: 'error_rate_above_limit' },
    annotations: { summary: `{{ $labels.component }} hops failing above ${alerts.rules.error_rate_max * 100} %`, description: '{{ $labels.component }}: {{ $value | humanizePercentage }} of hops failed over the last ' + w + ' (callers hanging up are not counted).' },
  })
  rules.push({
    alert: 'HopwatchSuccessBelowSlo',
    expr: `(sum(rate(hopwatch_turns_total{outcome="success"}[${w}])) / sum(rate(hopwatch_turns_total[${w}]))) < ${alerts.rules.success_min}\nand sum(increase(hopwatch_turns_total[${w}])) >= ${alerts.min_events}`,
    for: forDuration,
    labels: { severity: 'critical', rule: 'success_below_slo' },
    annotations: { summary: `turn success below ${alerts.rules.success_min * 100} %`, description: '{{ $value | humanizePercentage }} of simulated turns succeeded over the last ' + w + '.' },
  })
  // as the live rule: judged after half a window of samples, and a rise no GC cycle interrupted is a trend only past
  // MIN_UNBROKEN_RISE_S (PromQL has no cheap count of fall-backs, so the exported rule always waits that long)
  const fitS = Math.max(alerts.memory_window_s, MIN_UNBROKEN_RISE_S)
  const historyS = Math.max(alerts.memory_window_s / 2, MIN_UNBROKEN_RISE_S)
  const mw = duration(fitS)
  const floor = duration(Math.max(60, fitS / 12))
  const step = duration(Math.max(15, alerts.eval_s))
  const memory = '{__name__=~"process_resident_memory_bytes|hopwatch_process_resident_memory_bytes"}'
  rules.push({
    alert: 'HopwatchMemoryRising',
    // the age of a series' samples: now less its earliest sample over a look back a little longer than it needs
    expr: `deriv(min_over_time(${memory}[${floor}])[${mw}:${step}]) * 3600 > ${alerts.rules.memory_slope_mb_per_h * 1024 * 1024}\nand time() - min_over_time(timestamp(${memory})[${duration(historyS + HISTORY_SLACK_S)}:${step}]) >= ${Math.round(historyS)}`,
    for: forDuration,
    labels: { severity: 'warning', rule: 'memory_rising' },
    annotations: { summary: `resident memory rising faster than ${alerts.rules.memory_slope_mb_per_h} MB/h`, description: '{{ $labels.job }} {{ $labels.instance }}: the lower envelope of resident memory rises {{ $value | humanize1024 }}B/h over the last ' + mw + ' (least squares over per-' + floor + ' minima, so GC cycles do not count), judged once the process has ' + duration(historyS) + ' of samples: a heap grows for minutes before its first full collection.' },
  })
  rules.push({
    alert: 'HopwatchGeneratorOverloaded',
    expr: `hopwatch_nodejs_eventloop_lag_p99_seconds > ${alerts.rules.generator_lag_ms / 1000}`,
    for: forDuration,
    labels: { severity: 'warning', rule: 'generator_overloaded' },
    annotations: { summary: 'a hopwatch process is lagging', description: '{{ $labels.instance }}: event-loop lag p99 {{ $value | humanizeDuration }}; a load generator this busy starts callers late and its latencies include its own delay.' },
  })
  return `# hopwatch alert rules (hopwatch alerts rules): the live rules of hopwatch.yaml's alerts: section, over the proxy's /metrics\n${stringify({ groups: [{ name: 'hopwatch', interval: duration(alerts.eval_s), rules }] }, { lineWidth: 0 })}`
}
