// The hopwatch report's page: decodes the run's data embedded in the file (gzip + base64 JSON) and draws it with
// uPlot. It runs offline from file://: no request leaves the page (the file's Content-Security-Policy forbids them).
// Strings from the store are set as text, never as HTML.
/* global uPlot */
'use strict'
;(async function main() {
  const app = document.getElementById('app')
  try {
    const encoded = document.getElementById('hopwatch-data').textContent.trim()
    const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0))
    const text = await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text()
    const doc = JSON.parse(text)
    window.hopwatchReport = doc
    render(app, doc)
    document.body.dataset.ready = 'true'
  } catch (err) {
    app.textContent = 'This report could not be drawn: ' + (err && err.message ? err.message : String(err))
    document.body.dataset.ready = 'failed'
    throw err
  }
})()

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22']
const BAND_LABELS = ['< 0.5 s', '0.5–1 s', '1–2 s', '2–3 s', '> 3 s']
const BAND_COLORS = ['#2ca02c', '#98df8a', '#ffbb78', '#ff7f0e', '#d62728']

function h(tag, attrs, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue
    if (k === 'class') el.className = v
    else if (k.startsWith('data-')) el.setAttribute(k, v)
    else if (k === 'style') el.setAttribute('style', v)
    else if (k === 'title') el.title = v
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v)
    else el.setAttribute(k, v)
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
  return el
}

const ms = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v >= 10000 ? (v / 1000).toFixed(1) + ' s' : Math.round(v) + ' ms')
const pct = (n, d) => (d > 0 ? ((n / d) * 100).toFixed(1) + ' %' : '–')
const num = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toLocaleString('en'))
const isoOf = (us) => (us > 0 ? new Date(us / 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '–')

function section(title, id, ...children) {
  return h('section', { id }, h('h2', {}, title), ...children)
}

function table(header, rows, attrs) {
  return h('table', attrs || {}, h('thead', {}, h('tr', {}, header.map((x) => h('th', {}, x)))), h('tbody', {}, rows.map((r) => (r instanceof Node ? r : h('tr', {}, r.map((c) => (c instanceof Node ? c : h('td', {}, c))))))))
}

function render(app, doc) {
  const a = doc.analysis
  app.replaceChildren()
  const reportTab = h('div', { id: 'tab-report' })
  const rawTab = h('div', { id: 'tab-raw', hidden: '' }, h('p', {}, 'The analysis as `hopwatch analyze --format json` prints it:'), h('pre', { id: 'raw-json' }, JSON.stringify(a, null, 2)))
  const show = (which) => () => {
    reportTab.hidden = which !== 'report'
    rawTab.hidden = which !== 'raw'
    for (const b of document.querySelectorAll('nav button')) b.classList.toggle('active', b.dataset.tab === which)
  }
  app.append(
    header(doc),
    h('nav', {}, h('button', { 'data-tab': 'report', class: 'active', onclick: show('report') }, 'Report'), h('button', { 'data-tab': 'raw', onclick: show('raw') }, 'Raw JSON')),
    reportTab,
    rawTab,
  )
  reportTab.append(sloSection(doc), kpiSection(doc))
  // charts need their container in the document to know their width
  overTimeSection(reportTab, doc)
  rampSection(reportTab, doc)
  componentsSection(reportTab, doc)
  reportTab.append(attributionSection(doc), waterfallSection(doc))
  errorsSection(reportTab, doc)
  spikeSection(reportTab, doc)
  resourcesSection(reportTab, doc)
  reportTab.append(alertsSection(doc), generatorSection(doc))
}

function header(doc) {
  const r = doc.run
  const a = doc.analysis
  const meta = [
    ['run', r.run_id + (r.name ? ' (' + r.name + ')' : '')],
    ['source', r.source],
    ['scenario', r.scenario || '–'],
    ['profile', r.profile || '–'],
    ['callers', r.architecture || '–'],
    ['time scale', String(r.time_scale)],
    ['started', isoOf(r.started_us)],
    ['versions', 'hopwatch ' + (doc.versions.hopwatch_recorded || '?') + ' recorded, ' + doc.versions.hopwatch_report + ' reported; node ' + doc.versions.node + '; ClickHouse ' + doc.versions.engine],
  ]
  return h(
    'header',
    {},
    h('h1', {}, 'hopwatch report'),
    h('dl', { class: 'meta' }, meta.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('p', { id: 'verdict', class: 'verdict confidence-' + a.confidence }, h('span', { class: 'badge' }, a.confidence.replace('_', ' ')), ' ', a.verdict),
  )
}

function sloSection(doc) {
  const steps = doc.analysis.steps
  const rows = doc.checks.map((row) =>
    h(
      'tr',
      { 'data-slo': row.name },
      h('th', { scope: 'row' }, row.objective),
      row.cells.map((c) => {
        const mark = c.state === 'broken' ? '✗' : c.state === 'held' ? '✓' : '–'
        const value = c.value === null ? 'no value' : row.name === 'success' ? (c.value * 100).toFixed(1) + ' %' : ms(c.value)
        return h('td', { class: 'slo-' + c.state, 'data-step': String(c.step), 'data-state': c.state, title: value }, mark + ' ', h('small', {}, c.value === null ? '' : value))
      }),
    ),
  )
  const held = doc.checks.filter((r) => r.cells.every((c) => c.state !== 'broken')).length
  const judged = doc.checks.filter((r) => r.cells.some((c) => c.state !== 'not_judged')).length
  return section(
    'SLOs at every step: ' + held + ' of ' + doc.checks.length + ' never broken' + (judged < doc.checks.length ? ' (' + (doc.checks.length - judged) + ' never judged)' : ''),
    'slos',
    h('p', { class: 'note' }, '✓ judged and held, ✗ broken, – not judged (an invalid step, or fewer samples than a p95 needs).'),
    table(['objective', ...steps.map((s) => 'step ' + s.step + ' (' + s.load + ')' + (s.invalid !== undefined ? ' ✗ invalid' : ''))], rows, { id: 'slo-grid' }),
  )
}

function kpiSection(doc) {
  const t = doc.totals
  const a = doc.analysis
  const peak = Math.max(0, ...a.steps.map((s) => s.achieved))
  const cards = [
    ['turns', num(t.turns)],
    ['conversations', num(t.conversations)],
    ['response p50', ms(t.p50_ms)],
    ['response p95', ms(t.p95_ms)],
    ['response p99', ms(t.p99_ms)],
    ['errors', pct(t.errors, t.turns)],
    ['interrupted', pct(t.interrupted, t.turns)],
    ['hung up', pct(t.hung_up, t.turns)],
    ['mean WER', Number.isFinite(t.wer) && t.wer !== null ? t.wer.toFixed(3) : '–'],
    ['peak load', num(peak)],
    ['capacity', a.capacity ? String(a.capacity.load) + (a.capacity.limited_by ? ' (' + a.capacity.limited_by + ')' : '') : 'below the lowest load'],
    ['first to degrade', a.first_degraded ? a.first_degraded.component + ' at ' + a.first_degraded.load : 'none'],
  ]
  return section('At a glance', 'kpis', h('div', { class: 'cards' }, cards.map(([k, v]) => h('div', { class: 'card' }, h('div', { class: 'k' }, k), h('div', { class: 'v' }, v)))))
}

/** A uPlot chart in `parent`, or a line saying there is nothing to draw. */
function chart(parent, title, opts, data) {
  const box = h('div', { class: 'chart', 'data-chart': title })
  parent.append(box)
  const points = data.slice(1).reduce((n, ys) => n + ys.filter((y) => y !== null && y !== undefined).length, 0)
  if (data[0].length === 0 || points === 0) {
    box.append(h('p', { class: 'empty' }, title + ': no data in this run'))
    box.dataset.empty = 'true'
    return
  }
  const width = Math.max(480, Math.min(1100, parent.clientWidth || 960))
  // eslint-disable-next-line no-new
  new uPlot({ title, width, height: 260, legend: { live: true }, ...opts }, data, box)
}

function timeX(doc) {
  const axis = doc.axis
  return (b) => (axis.t0_us + b * axis.width_us) / 1e6
}

/** Vertical dashed lines with labels (step starts, alerts, the degraded step and the capacity). */
function markers(lines) {
  return {
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx
          ctx.save()
          ctx.font = 11 * devicePixelRatio + 'px sans-serif'
          for (const m of lines) {
            const x = u.valToPos(m.x, 'x', true)
            if (!Number.isFinite(x) || x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue
            ctx.strokeStyle = m.color
            ctx.fillStyle = m.color
            ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio])
            ctx.beginPath()
            ctx.moveTo(x, u.bbox.top)
            ctx.lineTo(x, u.bbox.top + u.bbox.height)
            ctx.stroke()
            ctx.fillText(m.label, x + 3 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio)
          }
          ctx.restore()
        },
      ],
    },
  }
}

function stepMarkers(doc) {
  return doc.series.steps.filter((s) => s.start_us > 0).map((s) => ({ x: s.start_us / 1e6, label: 'step ' + s.step, color: '#888' }))
}

function alertMarkers(doc) {
  return doc.analysis.alerts.filter((x) => x.state === 'firing').map((x) => ({ x: x.at_us / 1e6, label: '⚠ ' + x.rule, color: '#d62728' }))
}

/** Aligns buckets onto the run's axis: x in unix seconds, one y array per key. */
function aligned(doc, buckets, keys) {
  if (doc.axis === null) return [[]]
  const n = Math.max(0, ...buckets.map((b) => b.b)) + 1
  const at = timeX(doc)
  const xs = Array.from({ length: n }, (_, i) => at(i))
  const ys = keys.map(() => new Array(n).fill(null))
  for (const b of buckets) keys.forEach((k, i) => (ys[i][b.b] = typeof k === 'function' ? k(b) : b[k]))
  return [xs, ...ys]
}

const line = (label, color, extra) => ({ label, stroke: color, width: 1.5, spanGaps: false, ...(extra || {}) })
const msAxis = { values: (_, ticks) => ticks.map((v) => ms(v)), size: 60 }

function overTimeSection(parent, doc) {
  const s = section('Callers over time', 'over-time', h('p', { class: 'note' }, 'Response = user stops speaking → first agent audio, per slice of ' + (doc.axis ? (doc.axis.width_us / 1e6).toFixed(0) : '–') + ' s of wall-clock time (the time scale compresses the profile). Dashed: step starts and alerts that fired.'))
  parent.append(s)
  const resp = doc.series.response
  chart(s, 'Response time p50 / p95 / p99', { series: [{}, line('p50', COLORS[0]), line('p95', COLORS[3]), line('p99', COLORS[1])], axes: [{}, msAxis], plugins: [markers([...stepMarkers(doc), ...alertMarkers(doc)])] }, aligned(doc, resp, ['p50_ms', 'p95_ms', 'p99_ms']))
  chart(
    s,
    'UX bands (share of turns)',
    { series: [{}, ...BAND_LABELS.map((l, i) => line(l, BAND_COLORS[i]))], axes: [{}, { values: (_, t) => t.map((v) => v + ' %') }], scales: { y: { range: [0, 100] } } },
    aligned(doc, resp, BAND_LABELS.map((_, i) => (b) => (b.turns > 0 ? (b.bands[i] / b.turns) * 100 : null))),
  )
  const hist = doc.series.histogram
  chart(
    s,
    'Response-time distribution (turns per ' + hist.bin_ms + ' ms; the last bar holds the rest)',
    { scales: { x: { time: false } }, series: [{}, { label: 'turns', stroke: COLORS[0], fill: COLORS[0] + '88', paths: uPlot.paths.bars({ size: [0.9, 40] }) }], axes: [{ values: (_, t) => t.map((v) => ms(v)) }, {}] },
    [hist.counts.map((_, i) => i * hist.bin_ms), hist.counts],
  )
  const steps = doc.analysis.steps.filter((x) => x.turns !== undefined)
  chart(
    s,
    'Response time per step (against load)',
    { scales: { x: { time: false } }, series: [{ label: 'load' }, line('p50', COLORS[0], { points: { show: true } }), line('p95', COLORS[3], { points: { show: true } }), line('p99', COLORS[1], { points: { show: true } })], axes: [{}, msAxis] },
    byLoad(steps, [(x) => x.turns.p50_ms, (x) => x.turns.p95_ms, (x) => x.turns.p99_ms]),
  )
}

/** Steps as points against their load (x ascending; steps at one load kept in order). */
function byLoad(steps, getters) {
  const sorted = [...steps].sort((p, q) => p.load - q.load || p.step - q.step)
  // uPlot needs strictly ordered x: steps at the same load are nudged apart by a hair
  const xs = sorted.map((x, i) => x.load + (i > 0 && sorted[i - 1].load === x.load ? i * 1e-6 : 0))
  return [xs, ...getters.map((g) => sorted.map((x) => {
    const v = g(x)
    return v === undefined || v === null || !Number.isFinite(v) ? null : v
  }))]
}

function rampSection(parent, doc) {
  const a = doc.analysis
  const s = section('The ramp: where it degrades', 'ramp', h('p', { class: 'note' }, 'p95 against load: the callers\' response and each component\'s latency. Marked: where the first component degraded, and the capacity (every SLO held up to it).'))
  parent.append(s)
  const components = [...new Set(a.steps.flatMap((x) => Object.keys(x.components)))].sort()
  const marks = []
  if (a.first_degraded) marks.push({ x: a.first_degraded.load, label: a.first_degraded.component + ' degraded', color: '#d62728' })
  if (a.capacity) marks.push({ x: a.capacity.load, label: 'capacity ' + a.capacity.load, color: '#2ca02c' })
  chart(
    s,
    'p95 against load',
    { scales: { x: { time: false } }, series: [{ label: 'load' }, line('response', '#000', { width: 2.5, points: { show: true } }), ...components.map((c, i) => line(c, COLORS[i % COLORS.length], { points: { show: true } }))], axes: [{}, msAxis], plugins: [markers(marks)] },
    byLoad(a.steps, [(x) => (x.turns ? x.turns.p95_ms : null), ...components.map((c) => (x) => (x.components[c] ? x.components[c].p95_ms : null))]),
  )
}

function componentsSection(parent, doc) {
  const s = section('Components', 'components')
  parent.append(s)
  const rows = doc.component_totals.map((c) => [c.component, c.upstream, num(c.hops), ms(c.p50_ms), ms(c.p90_ms), ms(c.p95_ms), ms(c.p99_ms), ms(c.max_ms), pct(c.errors, c.hops), pct(c.censored, c.n), c.top_error || '–'])
  s.append(h('p', { class: 'note' }, 'Latency as each component is judged (docs/analysis.md): STT to the final transcript, LLM to the first token, TTS to the first audio; censored = cut short, counted as a lower bound.'))
  s.append(table(['component', 'upstream', 'hops', 'p50', 'p90', 'p95', 'p99', 'max', 'error %', 'censored %', 'top error'], rows, { id: 'component-table' }))
  const byComponent = {}
  for (const b of doc.series.components) (byComponent[b.component] = byComponent[b.component] || []).push(b)
  for (const [component, buckets] of Object.entries(byComponent)) {
    chart(s, component + ' latency over time', { series: [{}, line('p50', COLORS[0]), line('p95', COLORS[3]), line('p99', COLORS[1])], axes: [{}, msAxis], plugins: [markers(stepMarkers(doc))] }, aligned(doc, buckets, ['p50_ms', 'p95_ms', 'p99_ms']))
  }
}

function attributionSection(doc) {
  const at = doc.analysis.attribution
  if (at === null) return section('Where the response time went', 'attribution', h('p', { class: 'empty' }, 'No degradation to attribute: the response time did not grow significantly over the baseline.'))
  const rows = Object.entries(at.components).sort((p, q) => q[1].growth_ms - p[1].growth_ms).map(([name, c]) => {
    const share = Math.max(0, Math.min(100, c.share * 100))
    return [name, (c.growth_ms >= 0 ? '+' : '') + Math.round(c.growth_ms) + ' ms', h('td', {}, h('span', { class: 'bar', style: 'width:' + share.toFixed(1) + '%' }), ' ' + (c.share * 100).toFixed(0) + ' %')]
  })
  return section(
    'Where the response time went',
    'attribution',
    h('p', { class: 'note' }, 'Mean response ' + Math.round(at.baseline_ms) + ' ms at steps ' + at.baseline_steps.join(', ') + ' → ' + Math.round(at.degraded_ms) + ' ms at steps ' + at.degraded_steps.join(', ') + ', split by each turn\'s critical path (' + at.turns.baseline + ' + ' + at.turns.degraded + ' turns).'),
    table(['', 'growth', 'share'], rows, { id: 'attribution-table' }),
  )
}

function waterfallSection(doc) {
  const w = doc.waterfalls
  const turns = [...(w.median ? [['median turn', w.median]] : []), ...w.slowest.map((t, i) => ['slowest #' + (i + 1), t])]
  if (turns.length === 0) return section('Waterfalls', 'waterfalls', h('p', { class: 'empty' }, 'No answered turn in this run.'))
  return section('Waterfalls: the median turn and the slowest', 'waterfalls', h('p', { class: 'note' }, 'Each hop from its start to its end; the dark part up to its judged moment (first token, first audio, final transcript). | user stopped speaking, ▶ first agent audio.'), turns.map(([label, t]) => waterfall(label, t)))
}

function waterfall(label, t) {
  const starts = [t.user_end_us, ...t.hops.map((x) => x.start_us)].filter((x) => x > 0)
  const ends = [t.first_audio_us, ...t.hops.map((x) => x.end_us)].filter((x) => x > 0)
  const t0 = Math.min(...starts)
  const span = Math.max(1, Math.max(...ends) - t0)
  const at = (us) => (((us - t0) / span) * 100).toFixed(2) + '%'
  const rows = t.hops.map((x) => {
    const judged = x.component === 'stt' ? x.final_us : x.first_payload_us
    const end = x.end_us > 0 ? x.end_us : t0 + span
    return h(
      'div',
      { class: 'wf-row' },
      h('span', { class: 'wf-label' }, x.component + ' · ' + x.upstream + (x.error_kind ? ' (' + x.error_kind + ')' : '')),
      h(
        'span',
        { class: 'wf-track' },
        h('span', { class: 'wf-hop', style: 'left:' + at(x.start_us) + ';width:' + (((end - x.start_us) / span) * 100).toFixed(2) + '%' }),
        judged > 0 ? h('span', { class: 'wf-judged', style: 'left:' + at(x.start_us) + ';width:' + (((judged - x.start_us) / span) * 100).toFixed(2) + '%' }) : null,
        h('span', { class: 'wf-mark', style: 'left:' + at(t.user_end_us) }, '|'),
        h('span', { class: 'wf-mark audio', style: 'left:' + at(t.first_audio_us) }, '▶'),
      ),
    )
  })
  return h('div', { class: 'waterfall' }, h('h3', {}, label + ': ' + ms(t.response_ms) + ' — conversation ' + t.conversation_id + ', turn ' + t.turn + ', step ' + t.step), rows)
}

function errorsSection(parent, doc) {
  const s = section('Errors by kind over time', 'errors')
  parent.append(s)
  const kinds = [...new Set(doc.series.errors.map((e) => e.kind))].sort()
  if (kinds.length === 0) {
    s.append(h('p', { class: 'empty' }, 'No hop failed in this run (a caller\'s own interruption is not an error).'))
    return
  }
  const buckets = {}
  for (const e of doc.series.errors) (buckets[e.b] = buckets[e.b] || { b: e.b })[e.kind] = e.n
  chart(s, 'Errors per slice', { series: [{}, ...kinds.map((k, i) => line(k, COLORS[i % COLORS.length]))], plugins: [markers(stepMarkers(doc))] }, aligned(doc, Object.values(buckets), kinds.map((k) => (b) => b[k] || 0)))
}

function spikeSection(parent, doc) {
  const sp = doc.analysis.spike
  const rec = doc.series.recovery
  if (sp === null || rec === null) return
  const s = section('Spike recovery', 'spike', h('p', { class: 'note' }, 'Degraded ' + sp.degraded + ' (' + sp.rejections + ' rejections, ' + sp.drops + ' dropped or hung up); ' + (sp.recovery_s !== null ? 'back to baseline ' + Math.round(sp.recovery_s) + ' s after the spike.' : 'not back to baseline by the end of the run.') + ' The band is the baseline p95.'))
  parent.append(s)
  const width = (rec.end_us - rec.start_us) / rec.buckets.length || 1
  const xs = rec.buckets.map((b) => (rec.start_us + b.bucket * width) / 1e6)
  chart(s, 'Recovery step: response p95 per slice', { series: [{}, line('p95', COLORS[3], { points: { show: true } }), line('baseline p95', '#2ca02c', { dash: [6, 4] }), line('failed turns', COLORS[1], { scale: 'n' })], axes: [{}, msAxis, { scale: 'n', side: 1 }] }, [xs, rec.buckets.map((b) => b.p95_ms), rec.buckets.map(() => sp.baseline.p95_ms), rec.buckets.map((b) => b.failed)])
}

function resourcesSection(parent, doc) {
  const s = section('Resources', 'resources')
  parent.append(s)
  const series = doc.series.resources
  const report = doc.analysis.resources
  if (series.length === 0) {
    s.append(h('p', { class: 'empty' }, 'No resource was sampled in this run.'))
    return
  }
  s.append(h('p', { class: 'note' }, 'Per sampled series: the highest and lowest value per slice, and the trend fitted to the lower envelope (drawn through its last value). Memory rising during a soak is a leak; under a ramp it may follow the load.'))
  for (const r of series) {
    const trend = report ? report.trends.find((t) => t.target === r.target && t.metric === r.metric) : undefined
    const xs = r.t.map((t) => r.t0_us / 1e6 + t)
    const fitted = trend && trend.verdict !== 'too_short' ? xs.map((x) => trend.last + (trend.slope_per_hour * (x - xs[xs.length - 1])) / 3600) : null
    const isMemory = /bytes/.test(r.metric) || (trend !== undefined && trend.kind === 'memory')
    const values = (_, ticks) => ticks.map((v) => (isMemory ? (v / 1048576).toFixed(0) + ' MB' : String(v)))
    const title = r.target + ' ' + r.metric + (trend ? ' — ' + (trend.verdict === 'too_short' ? 'too short for a trend' + (trend.too_short_because === 'no_gc_cycle' ? ' (no GC cycle seen)' : '') : trend.verdict + ' ' + (isMemory ? (trend.slope_per_hour / 1048576).toFixed(1) + ' MB/h' : trend.slope_per_hour.toFixed(1) + '/h') + ' (p ' + (trend.p < 0.0001 ? '< 0.0001' : trend.p.toFixed(4)) + ')') : '')
    chart(s, title, { series: [{}, line('high', COLORS[0]), line('low', COLORS[2]), ...(fitted ? [line('trend', '#000', { dash: [6, 4] })] : [])], axes: [{}, { values, size: 70 }], plugins: [markers(alertMarkers(doc))] }, [xs, r.high, r.low, ...(fitted ? [fitted] : [])])
  }
}

function alertsSection(doc) {
  const alerts = doc.analysis.alerts
  if (alerts.length === 0) return section('Alerts', 'alerts', h('p', { class: 'empty' }, 'No live alert changed state during the run.'))
  const t0 = doc.axis ? doc.axis.t0_us : alerts[0].at_us
  return section('Alerts', 'alerts', table(['at', 'rule', 'component', 'state', 'severity', 'value', 'threshold', 'message'], alerts.map((x) => ['+' + ((x.at_us - t0) / 1e6).toFixed(1) + ' s', x.rule, x.component, x.state, x.severity, num(x.value), num(x.threshold), x.message]), { id: 'alerts-table' }))
}

function generatorSection(doc) {
  const rows = doc.analysis.steps.map((s) => {
    const raw = doc.series.steps.find((x) => x.step === s.step) || {}
    return [String(s.step), s.phase, String(s.load), num(Math.round(s.achieved * 10) / 10), num(raw.started), raw.generator_lag_p99_ms !== undefined ? raw.generator_lag_p99_ms.toFixed(1) + ' ms' : '–', raw.host_cpu !== undefined ? (raw.host_cpu * 100).toFixed(0) + ' %' : '–', s.invalid !== undefined ? h('td', { class: 'slo-broken' }, '✗ ' + s.invalid) : h('td', { class: 'slo-held' }, '✓ valid')]
  })
  return section('Generator health per step', 'generator', h('p', { class: 'note' }, 'A step the generator or the host could not drive is no evidence: it is shown, never judged.'), table(['step', 'phase', 'target', 'achieved', 'started', 'generator lag p99', 'host CPU', 'evidence'], rows, { id: 'generator-table' }))
}
