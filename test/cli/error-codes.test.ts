import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { ERROR_CODES } from '../../src/cli/error-codes.js'

test('the README lists every error code with what to do, and no code that does not exist', async () => {
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Error codes'))
  const listed = new Set([...section.matchAll(/^\| `(HW_[A-Z_]+)` \|/gm)].map((m) => m[1]))
  assert.deepEqual([...listed].sort(), Object.keys(ERROR_CODES).sort())
  const mentioned = new Set([...readme.matchAll(/\bHW_[A-Z_]+\b/g)].map((m) => m[0]))
  for (const code of mentioned) assert.ok(code in ERROR_CODES, `README mentions ${code}, which is not a code`)
})
