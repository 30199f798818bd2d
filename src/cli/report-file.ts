import { writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { Analysis, Slos } from '../analyze/index.js'
import type { StoreConfig } from '../config/index.js'
import { reportHtml } from '../report/html.js'
import { reportDocument } from '../report/report-data.js'
import type { QueryLines } from '../store/index.js'
import { VERSION } from './version.js'

/** Where a run's report goes unless told: beside the store (the folder that holds ./.hopwatch), or here for a server. */
export function defaultReportPath(store: StoreConfig, runId: string): string {
  const beside = store.clickhouse !== undefined ? resolve('.') : dirname(resolve(store.dir))
  return join(beside, `hopwatch-report-${runId.replace(/[^A-Za-z0-9._-]/g, '_')}.html`)
}

/** Writes the self-contained HTML report of a run; undefined when the store has no such run. */
export async function writeReport(query: QueryLines, database: string, runId: string | undefined, out: (runId: string) => string, given: { slos?: Slos; analysis?: Analysis } = {}): Promise<{ path: string; bytes: number; runId: string } | undefined> {
  const doc = await reportDocument(query, database, runId, { version: VERSION, ...given })
  if (doc === undefined) return undefined
  const html = await reportHtml(doc)
  const path = resolve(out(doc.run.run_id))
  await writeFile(path, html)
  return { path, bytes: Buffer.byteLength(html), runId: doc.run.run_id }
}
