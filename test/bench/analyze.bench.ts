/**
 * npm run bench (fourth part): the analysis and the HTML report of a large run on the embedded engine. Synthetic runs of 1 and 10 million
 * hops (5 per turn, 10 steps, a planted LLM rise from step 6) are generated inside ClickHouse, then analysed as
 * `hopwatch analyze` does; printed: the time and Node's heap growth for each, and the ratios 10M ÷ 1M. Aggregation
 * runs in ClickHouse and Node takes aggregates plus bounded samples, so the heap should not grow with the run. Then
 * the run's HTML report (hopwatch report): the time to write it, its size, and the time headless Chromium takes from
 * opening the file to the page drawn (the bounds: under 5 MB and 2 s for 10 million hops).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { analyzeStoredRun } from '../../src/analyze/index.js'
import { table } from '../../src/cli/output.js'
import { reportHtml } from '../../src/report/html.js'
import { reportDocument } from '../../src/report/report-data.js'
import { openStore, queryJsonLines } from '../../src/store/index.js'
import { launchChromium } from '../support/browser.js'
import { plant } from './planted-run.js'

const SIZES = (process.env.BENCH_HOPS ?? '1000000,10000000').split(',').map(Number)

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-bench-analyze-'))
  const store = await openStore({ kind: 'embedded', dir }, 'hopwatch')
  const rows: string[][] = []
  const reports: string[][] = []
  const browser = await launchChromium()
  const results: Array<{ hops: number; seconds: number; heapMb: number }> = []
  try {
    for (const hops of SIZES) {
      const runId = `bench-${hops}`
      const t0 = performance.now()
      await plant(store, runId, hops)
      const planted = (performance.now() - t0) / 1000
      global.gc?.()
      const heap0 = process.memoryUsage().heapUsed
      let heapPeak = heap0
      const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 20)
      const t1 = performance.now()
      const analysis = await analyzeStoredRun((sql) => queryJsonLines(store, sql), 'hopwatch', runId)
      const seconds = (performance.now() - t1) / 1000
      clearInterval(sampler)
      const heapMb = (heapPeak - heap0) / 1024 / 1024
      results.push({ hops, seconds, heapMb })
      const t2 = performance.now()
      const doc = await reportDocument((sql) => queryJsonLines(store, sql), 'hopwatch', runId, { version: 'bench' })
      if (doc === undefined) throw new Error(`no run ${runId}`)
      const html = await reportHtml(doc)
      const written = (performance.now() - t2) / 1000
      const file = join(dir, `${runId}.html`)
      await writeFile(file, html)
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
      const t3 = performance.now()
      await page.goto(`file://${file}`)
      await page.waitForFunction('document.body.dataset.ready !== undefined')
      const opened = performance.now() - t3
      const drawn = await page.evaluate('document.body.dataset.ready')
      await page.close()
      reports.push([hops.toLocaleString('en'), `${written.toFixed(1)} s`, `${(Buffer.byteLength(html) / 1024).toFixed(0)} KB`, `${opened.toFixed(0)} ms`, String(drawn)])
      rows.push([hops.toLocaleString('en'), `${planted.toFixed(1)} s`, `${seconds.toFixed(1)} s`, `${heapMb.toFixed(1)} MB`, analysis?.first_degraded !== undefined ? `${analysis.first_degraded.component} at step ${analysis.first_degraded.step}` : 'none'])
    }
  } finally {
    await browser.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
  process.stdout.write('\nAnalysis of a large run, embedded engine (synthetic hops generated in ClickHouse; heap = Node\'s peak growth during the analysis):\n')
  process.stdout.write(table(['hops', 'generated in', 'analysed in', 'heap growth', 'first degraded'], rows))
  process.stdout.write('\nThe HTML report of the same runs (written in-process as hopwatch report does; opened from file:// in headless Chromium until drawn):\n')
  process.stdout.write(table(['hops', 'written in', 'size', 'opened in', 'drawn'], reports))
  const [small, large] = results
  if (small !== undefined && large !== undefined) process.stdout.write(`  ${(large.hops / small.hops).toFixed(0)}× the hops: ${(large.seconds / small.seconds).toFixed(1)}× the time, ${(large.heapMb / Math.max(0.1, small.heapMb)).toFixed(1)}× the heap growth\n`)
}

await main()
