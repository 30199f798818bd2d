import { readFile } from 'node:fs/promises'
import { gzipSync } from 'node:zlib'
import type { ReportDocument } from './report-data.js'

/**
 * What every report inlines, gathered at build time by scripts/report-assets.mjs: uPlot (MIT, ~50 KB minified, no
 * dependencies: canvas time series that stay fast with thousands of points, small enough to carry in every report)
 * and the page's own script (src/report/page/report.js, plain browser JavaScript).
 */
interface ReportAssets {
  uplot: { version: string; license: string; js: string; css: string }
  page: string
}

const ASSETS = new URL('./report-assets.json', import.meta.url)

async function assets(): Promise<ReportAssets> {
  try {
    return JSON.parse(await readFile(ASSETS, 'utf8')) as ReportAssets
  } catch (err) {
    throw new Error(`the report's assets are missing from this build (${(err as Error).message}): run npm run build`)
  }
}

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** Inline script text must not close its own element. */
function scriptSafe(js: string): string {
  return js.replace(/<\/script/gi, '<\\/script')
}

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 16px 24px 48px; max-width: 1160px; color: #222; }
h1 { margin: 0 0 8px; font-size: 22px; } h2 { margin: 28px 0 8px; font-size: 18px; border-bottom: 1px solid #ddd; } h3 { font-size: 14px; margin: 14px 0 4px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; } dl.meta dt { color: #666; } dl.meta dd { margin: 0; }
.verdict { font-size: 16px; padding: 10px 12px; border-left: 4px solid #1f77b4; background: #f4f8fc; }
.verdict.confidence-cannot_tell { border-color: #ff7f0e; background: #fff7ee; } .badge { font-size: 12px; text-transform: uppercase; color: #555; }
nav { margin: 12px 0; } nav button { font: inherit; padding: 4px 12px; border: 1px solid #bbb; background: #fff; cursor: pointer; } nav button.active { background: #222; color: #fff; }
table { border-collapse: collapse; margin: 6px 0; } th, td { border: 1px solid #e2e2e2; padding: 3px 8px; text-align: left; white-space: nowrap; } thead th { background: #f6f6f6; }
td.slo-held { color: #1a7f37; } td.slo-broken { color: #c62828; font-weight: 600; background: #fdecec; } td.slo-not_judged { color: #999; } td small { color: #666; font-weight: normal; }
.note { color: #555; font-size: 13px; } .empty { color: #888; font-style: italic; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; } .card { border: 1px solid #e2e2e2; padding: 8px 10px; border-radius: 4px; }
.card .k { color: #666; font-size: 12px; } .card .v { font-size: 18px; font-weight: 600; }
.chart { margin: 12px 0; } .bar { display: inline-block; height: 10px; background: #1f77b4; vertical-align: middle; max-width: 200px; }
.wf-row { display: flex; align-items: center; height: 20px; } .wf-label { width: 220px; font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.wf-track { position: relative; flex: 1; height: 14px; background: #fafafa; } .wf-hop { position: absolute; height: 14px; background: #c6dbef; } .wf-judged { position: absolute; height: 14px; background: #3182bd; }
.wf-mark { position: absolute; top: -2px; font-size: 12px; color: #000; } .wf-mark.audio { color: #2ca02c; }
pre#raw-json { background: #f6f6f6; padding: 12px; overflow: auto; max-height: 80vh; font-size: 12px; }
`

/**
 * The report as one self-contained HTML file: the chart library, the styles, the page script and the run's data
 * (gzip + base64 JSON, as k6's dashboard export) all inline. Its Content-Security-Policy allows no request at all, so
 * it opens offline from file:// and cannot call anywhere.
 */
export async function reportHtml(doc: ReportDocument): Promise<string> {
  const { uplot: chart, page } = await assets()
  const data = gzipSync(Buffer.from(JSON.stringify(doc)), { level: 9 }).toString('base64')
  const title = `hopwatch report — ${doc.run.run_id}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<!-- uPlot ${chart.version} (${chart.license}, https://github.com/leeoniya/uPlot) is inlined below -->
<style>${chart.css}</style>
<style>${CSS}</style>
</head>
<body>
<div id="app"><noscript>This report draws its charts with JavaScript; enable it for this file.</noscript></div>
<script id="hopwatch-data" type="application/octet-stream">${data}</script>
<script>${scriptSafe(chart.js)}</script>
<script>${scriptSafe(page)}</script>
</body>
</html>
`
}
