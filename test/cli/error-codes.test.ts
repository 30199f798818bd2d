import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { ERROR_CODES } from '../../src/cli/error-codes.js'

test('docs/errors.md lists every error code with exactly its meaning and fix, and no code that does not exist', async () => {
  const doc = await readFile(new URL('../../../docs/errors.md', import.meta.url), 'utf8')
  const rows = [...doc.matchAll(/^\| `(HW_[A-Z_]+)` \| (.*) \| (.*) \|$/gm)].map((m) => [m[1], m[2], m[3]])
  assert.deepEqual(rows, Object.entries(ERROR_CODES).map(([code, d]) => [code, d.meaning, d.fix]))
})

test('the README and the docs mention no error code that does not exist', async () => {
  for (const file of ['README.md', 'docs/reference.md', 'docs/security.md', 'docs/analysis.md']) {
    const text = await readFile(new URL(`../../../${file}`, import.meta.url), 'utf8')
    for (const [code] of text.matchAll(/\bHW_[A-Z]+_[A-Z_]+\b/g)) assert.ok(code in ERROR_CODES, `${file} mentions ${code}, which is not a code`)
  }
})
