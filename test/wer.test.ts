import assert from 'node:assert/strict'
import { test } from 'node:test'
import { wordErrorRate } from '../src/wer.js'

test('word error rate counts substitutions, deletions and insertions over the reference words', () => {
  assert.equal(wordErrorRate('book a table for two', 'book a table for two'), 0)
  assert.equal(wordErrorRate('book a table for two', 'book the table for two'), 1 / 5)
  assert.equal(wordErrorRate('book a table for two', 'book table for two'), 1 / 5)
  assert.equal(wordErrorRate('book a table for two', 'please book a table for two now'), 2 / 5)
  assert.equal(wordErrorRate('book a table', ''), 1)
})

test('word error rate ignores case and punctuation, as scoring tools do', () => {
  assert.equal(wordErrorRate('Book a table, for two.', 'book a table for two'), 0)
  assert.equal(wordErrorRate('', ''), 0)
  assert.equal(wordErrorRate('', 'noise'), 1)
})
