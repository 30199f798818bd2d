#!/usr/bin/env node
// Writes dashboards/*.json from src/report/grafana/dashboards.ts (build first: npm run dashboards). The test
// test/report/grafana-dashboards.test.ts fails when the committed files differ from what this writes.
import { writeFileSync } from 'node:fs'
import { dashboards } from '../dist/src/report/grafana/dashboards.js'

for (const [file, dashboard] of Object.entries(dashboards())) {
  writeFileSync(new URL(`../dashboards/${file}`, import.meta.url), `${JSON.stringify(dashboard, null, 2)}\n`)
  console.log(`dashboards/${file}: ${dashboard.panels.length} panels`)
}
