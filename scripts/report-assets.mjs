#!/usr/bin/env node
// Part of the build (npm run build): inlines what the HTML report carries into one file beside the compiled
// report code, dist/src/report/report-assets.json: uPlot's script and styles (from the installed package, the
// version package-lock.json pins) and the page's own script (src/report/page/report.js). The report then needs
// nothing from node_modules or src at run time.
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const read = (path) => readFileSync(path, 'utf8')
const uplot = JSON.parse(read(require.resolve('uplot/package.json')))
const assets = {
  uplot: { version: uplot.version, license: uplot.license, js: read(require.resolve('uplot/dist/uPlot.iife.min.js')), css: read(require.resolve('uplot/dist/uPlot.min.css')) },
  page: read(new URL('../src/report/page/report.js', import.meta.url)),
}
const out = new URL('../dist/src/report/report-assets.json', import.meta.url)
writeFileSync(out, JSON.stringify(assets))
console.log(`report assets: uPlot ${uplot.version} (${(assets.uplot.js.length / 1024).toFixed(0)} KB) and the page script (${(assets.page.length / 1024).toFixed(0)} KB) → dist/src/report/report-assets.json`)
