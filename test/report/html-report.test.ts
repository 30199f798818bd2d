import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Browser } from 'playwright-core'
import type { Analysis } from '../../src/analyze/index.js'
import type { ReportDocument } from '../../src/report/report-data.js'
import { openStore } from '../../src/store/index.js'
import { launchChromium } from '../support/browser.js'
import { hopwatch } from '../support/cli.js'
import { AMPLE_SERVICES, storeSeededRun, type SeededRun, storeFiredAlert } from '../support/seeded-runs.js'

/** Where the screenshots are kept for a person to look at (CI can upload the folder). */
const ARTIFACTS = new URL('../../../test-results/', import.meta.url)

const RAMP: SeededRun = {
  runId: 'report-llm',
  seed: 1,
  steps: [10, 13, 16, 20, 25, 31, 39].map((load) => ({ load, phase: 'ramp', seconds: 120 })),
  services: { ...AMPLE_SERVICES, llm: { workers: 6, latency: { median_ms: 350, p95_ms: 600 }, holdMs: 1200 } },
  toolShare: 0.3,
  memory: { mbPerHour: 300, seconds: 840 },
}
const SPIKE: SeededRun = {
  runId: 'report-spike',
  seed: 1,
  steps: [{ load: 9, phase: 'baseline', seconds: 120 }, { load: 30, phase: 'spike', seconds: 120 }, { load: 9, phase: 'recovery', seconds: 240 }],
  services: { ...AMPLE_SERVICES, llm: { workers: 8, latency: { median_ms: 350, p95_ms: 600 }, holdMs: 1200, queueCap: 4 } },
}

let dir: string
let browser: Browser
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hopwatch-report-'))
  const store = await openStore({ kind: 'embedded', dir: join(dir, '.hopwatch') }, 'hopwatch')
  const rows = await storeSeededRun(store, RAMP, { load: { profile: 'ramp', scenarios: ['booking'], architecture: 'cascaded', time_scale: 1 } })
  await storeSeededRun(store, SPIKE, { load: { profile: 'spike', time_scale: 1 } })
  // a live alert that fired during the ramp and was resolved: the report shows it on the timeline
  await storeFiredAlert(store, RAMP.runId, (rows.steps[4]?.start_us ?? 0) + 5_000_000, 60_000_000)
  await store.close()
  browser = await launchChromium()
  await mkdir(ARTIFACTS, { recursive: true })
})
after(async () => {
  await browser?.close()
  await rm(dir, { recursive: true, force: true })
})

interface Opened {
  requests: string[]
  problems: string[]
  /** per canvas: how many of its pixels are not transparent */
  drawn: number[]
  ms: number
  doc: ReportDocument
  cells: Array<{ slo: string; step: number; state: string }>
  raw: unknown
  emptyCharts: string[]
}

/** Opens a report from file:// in headless Chromium and reads what the page shows. */
async function open(file: string, screenshot: string): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const requests: string[] = []
  const problems: string[] = []
  page.on('request', (r) => requests.push(r.url()))
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`)
  })
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
  const started = Date.now()
  await page.goto(`file://${file}`)
  await page.waitForFunction('document.body.dataset.ready !== undefined')
  const ms = Date.now() - started
  assert.equal(await page.evaluate('document.body.dataset.ready'), 'true', problems.join('\n'))
  // run in the page (strings: the browser's DOM types are not in this Node program)
  const drawn = (await page.evaluate(`[...document.querySelectorAll('canvas')].map((c) => {
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
    let n = 0
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++
    return n
  })`)) as number[]
  const doc = (await page.evaluate('window.hopwatchReport')) as ReportDocument
  const cells = (await page.evaluate(`[...document.querySelectorAll('#slo-grid td[data-state]')].map((td) => ({ slo: td.closest('tr').dataset.slo, step: Number(td.dataset.step), state: td.dataset.state }))`)) as Opened['cells']
  const emptyCharts = (await page.evaluate(`[...document.querySelectorAll('.chart[data-empty]')].map((c) => c.dataset.chart)`)) as string[]
  await page.click('nav button[data-tab="raw"]')
  const raw = JSON.parse((await page.textContent('#raw-json')) ?? 'null') as unknown
  await page.click('nav button[data-tab="report"]')
  await page.screenshot({ path: new URL(screenshot, ARTIFACTS).pathname, fullPage: true })
  await page.close()
  return { requests, problems, drawn, ms, doc, cells, raw, emptyCharts }
}

/** The ramp's report, written by the CLI and opened in Chromium once; the tests below read it. */
let llm: { out: string; written: { code: number | null; stdout: string; stderr: string }; page: Opened } | undefined
async function llmReport(): Promise<NonNullable<typeof llm>> {
  if (llm === undefined) {
    const out = join(dir, 'llm.html')
    const written = await hopwatch(['report', '--store', join(dir, '.hopwatch'), '--run', RAMP.runId, '--out', out], dir)
    assert.equal(written.code, 0, written.stderr)
    llm = { out, written, page: await open(out, 'report-llm.png') }
  }
  return llm
}

test('hopwatch report writes one self-contained file that opens offline in Chromium: no request, no console error, every chart drawn', async () => {
  const { out, written, page } = await llmReport()
  assert.match(written.stdout, new RegExp(`report of run ${RAMP.runId} \\(\\d+ KB\\): ${out}`))
  const html = await readFile(out, 'utf8')
  // nothing in the file points outside it
  assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)="(https?:)?\/\//i)
  assert.deepEqual(page.requests, [`file://${out}`], 'the page loaded nothing but itself')
  assert.deepEqual(page.problems, [])
  assert.ok(page.drawn.length >= 8, `${page.drawn.length} charts`)
  assert.deepEqual(page.drawn.filter((n) => n === 0), [], `every canvas has pixels: ${page.drawn.join(', ')}`)
  assert.deepEqual(page.emptyCharts, [], 'the run has data for every chart')
  process.stdout.write(`# report of a 7-step ramp: ${(Buffer.byteLength(html) / 1024).toFixed(0)} KB, ready in ${page.ms} ms\n`)
})

test('the report\'s ✓/✗ grid is every SLO at every step, with ✗ exactly where the analysis found a breach', async () => {
  const { page } = await llmReport()
  const a = page.doc.analysis
  assert.ok(a.breaches.length > 0, 'the planted LLM breaks an SLO on the ramp')
  assert.equal(page.cells.length, page.doc.checks.length * a.steps.length)
  const broken = page.cells.filter((c) => c.state === 'broken').map((c) => `${c.slo}@${c.step}`).sort()
  assert.deepEqual(broken, a.breaches.map((b) => `${b.slo}@${b.step}`).sort())
  assert.ok(page.cells.some((c) => c.state === 'held'), 'held SLOs are shown too, not only breaches')
})

test('the report\'s raw JSON tab is the document hopwatch analyze --format json prints', async () => {
  const { page } = await llmReport()
  const analyzed = await hopwatch(['analyze', '--store', join(dir, '.hopwatch'), '--run', RAMP.runId, '--format', 'json'], dir)
  assert.equal(analyzed.code, 0, analyzed.stderr)
  assert.deepEqual(page.raw, JSON.parse(analyzed.stdout) as Analysis)
  assert.equal((page.raw as Analysis).first_degraded?.component, 'llm')
})

test('a spike run\'s report draws its recovery and opens as cleanly', async () => {
  const out = join(dir, 'spike.html')
  assert.equal((await hopwatch(['report', '--store', join(dir, '.hopwatch'), '--run', SPIKE.runId, '--out', out], dir)).code, 0)
  const page = await open(out, 'report-spike.png')
  assert.deepEqual(page.problems, [])
  assert.deepEqual(page.requests, [`file://${out}`])
  assert.ok(page.doc.series.recovery !== null && page.doc.series.recovery.buckets.length > 0)
  assert.deepEqual(page.drawn.filter((n) => n === 0), [])
  assert.ok((await stat(out)).size < 5 * 1024 * 1024)
})

test('hopwatch report without --out writes beside the store, and says there is no run when there is none', async () => {
  const written = await hopwatch(['report', '--store', join(dir, '.hopwatch'), '--run', RAMP.runId], dir)
  assert.equal(written.code, 0, written.stderr)
  assert.ok((await stat(join(dir, `hopwatch-report-${RAMP.runId}.html`))).size > 0)
  const missing = await hopwatch(['report', '--store', join(dir, '.hopwatch'), '--run', 'no-such-run'], dir)
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /no run no-such-run in the store/)
})
