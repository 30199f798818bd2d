#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js, benchmarks excluded) with node's test runner, after making
// sure the Debian packages the integration tests start are installed.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

const deps = spawnSync(process.execPath, ['scripts/ensure-test-deps.mjs'], { stdio: 'inherit' })
if (deps.status !== 0) process.exit(deps.status ?? 1)

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'bench' ? [] : find(path)
    return entry.name.endsWith('.test.js') ? [path] : []
  })
}

const files = find('dist/test').sort()
const filter = process.argv.slice(2)
const selected = filter.length === 0 ? files : files.filter((f) => filter.some((part) => f.includes(part)))
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...selected], { stdio: 'inherit' })
process.exit(result.status ?? 1)
