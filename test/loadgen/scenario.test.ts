import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ConfigError } from '../../src/config/index.js'
import { answerMeetsExpectation } from '../../src/loadgen/conversation.js'
import { BUILTIN_SCENARIO_NAMES, loadScenarios, validateScenarios } from '../../src/loadgen/index.js'
import { newProgress } from '../../src/loadgen/turn.js'

test('a scenario file is read from YAML, and a bad one names every problem with its fix', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-scenario-'))
  const file = join(dir, 'returns.yaml')
  await writeFile(file, 'name: returns\nturns:\n  - { say: "I want to return a jacket", expect: { keywords: [return] }, reply: "I can help with your return." }\n')
  const [returns] = await loadScenarios([file])
  assert.equal(returns?.name, 'returns')
  assert.equal(returns?.persona, 'typical')
  assert.equal(returns?.min_turns, 1)
  assert.throws(
    () => validateScenarios({ name: 'Bad Name', persona: 'grumpy', turns: [{ say: 'hi', tool: { name: 'refund' }, expect: {}, reply: '' }] }, 'bad.yaml'),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError)
      const paths = err.problems.map((p) => p.path)
      assert.deepEqual(paths, ['name', 'persona', 'turns[0].reply', 'turns[0].tool.name'])
      return true
    },
  )
  assert.deepEqual(BUILTIN_SCENARIO_NAMES, ['booking', 'support', 'faq'])
})

test('an answer meets its expectation when audio came, the expected tool was called, and every keyword is in it', async () => {
  const [booking] = await loadScenarios(['booking'])
  const turn = booking!.turns[0]!
  const progress = { ...newProgress(), firstAudioUs: 1, toolCalled: 'check_availability', answer: 'On Friday we have tables at seven.' }
  assert.equal(answerMeetsExpectation(turn, progress), true)
  assert.equal(answerMeetsExpectation(turn, { ...progress, toolCalled: 'create_booking' }), false, 'the wrong tool')
  assert.equal(answerMeetsExpectation(turn, { ...progress, answer: 'We are open.' }), false, 'a keyword missing')
  assert.equal(answerMeetsExpectation(turn, { ...progress, firstAudioUs: 0 }), false, 'no audio reached the caller')
})
