import assert from 'node:assert/strict'
import { test } from 'node:test'
import { COMMANDS } from '../../src/cli/main.js'

test('every subcommand\'s --help has the same layout: usage, every flag of its usage line described, examples, exit codes', () => {
  for (const [name, command] of Object.entries(COMMANDS)) {
    const text = command.usage
    assert.match(text, new RegExp(`^Usage: hopwatch ${name}\\b`), name)
    const usageLines = text.slice(0, text.indexOf('\n\n')).split('\n')
    const flags = new Set(usageLines.flatMap((line) => [...line.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0])))
    for (const flag of flags) assert.match(text, new RegExp(`^ +(?:\\S+ )*?${flag}\\b`, 'm'), `${name}: ${flag} is in the usage line but not described`)
    assert.match(text, new RegExp(`\\nExamples:\\n(?:  hopwatch ${name}\\b.*\\n)+`), `${name}: no examples`)
    assert.match(text, /\nExit codes: 0 [^\n]+; 2 [^\n]+\.$/, `${name}: no exit codes at the end`)
  }
})
