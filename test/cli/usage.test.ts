import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hopwatch } from '../support/cli.js'

test('a mistyped command, flag or preset is a usage error (exit 2) that names the likely one', async () => {
  const command = await hopwatch(['anaylze'])
  assert.deepEqual([command.code, /Did you mean hopwatch analyze\?/.test(command.stderr)], [2, true], command.stderr)
  const flag = await hopwatch(['run', '--sim', '--mxa', '5'])
  assert.deepEqual([flag.code, /Unknown option '--mxa'\. Did you mean --max\?/.test(flag.stderr)], [2, true], flag.stderr)
  const preset = await hopwatch(['sim', '--preset', 'defualt'])
  assert.deepEqual([preset.code, /HW_SIM_PRESET: no preset "defualt"\. Did you mean default\?/.test(preset.stderr)], [2, true], preset.stderr)
})

test('a negative number is refused with the flag\'s own message, not "argument is ambiguous"; a bad value is blamed on the flag', async () => {
  for (const args of [['run', '--sim', '--max', '-5'], ['run', '--sim', '--max=-5']]) {
    const r = await hopwatch(args)
    assert.equal(r.code, 2)
    assert.match(r.stderr, /HW_CLI_USAGE: --max takes a number of 0 or more, got -5\n$/)
  }
  const word = await hopwatch(['run', '--sim', '--time-scale', 'fast'])
  assert.equal(word.code, 2)
  assert.match(word.stderr, /--time-scale takes a number, got "fast"/)
  assert.doesNotMatch(word.stderr, /hopwatch\.yaml/)
})

test('a proxy URL without its scheme says what is wrong with it', async () => {
  const r = await hopwatch(['load', '--proxy-url', 'localhost:8787'])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /--proxy-url "localhost:8787" is not an http\(s\) URL: did you mean http:\/\/localhost:8787\?/)
})
