import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseStartAt, waitUntil } from '../../src/loadgen/index.js'

test('--start-at takes ISO 8601 or Unix seconds, and nothing else', () => {
  assert.equal(parseStartAt('2026-12-01T17:00:00Z'), Date.UTC(2026, 11, 1, 17, 0, 0))
  assert.equal(parseStartAt('2026-12-01T18:00:00+01:00'), Date.UTC(2026, 11, 1, 17, 0, 0))
  assert.equal(parseStartAt('1796144400'), 1_796_144_400_000)
  assert.equal(parseStartAt('1796144400.5'), 1_796_144_400_500)
  for (const bad of ['tomorrow', '17:00', '2026-12-01', '-5', '']) assert.equal(parseStartAt(bad), undefined, bad)
})

test('waiting for the common start ends at it, or at once when a signal stops the generator first', async () => {
  const at = Date.now() + 150
  const late = await waitUntil(at)
  assert.ok(Date.now() >= at)
  assert.ok(late <= Date.now() - at, `late by ${late} ms: measured from the instant, not from the call`)
  // an instant already past: no wait, and the lateness is how long ago it was
  assert.ok((await waitUntil(Date.now() - 500)) >= 500)
  const stop = new AbortController()
  const far = waitUntil(Date.now() + 60_000, stop.signal)
  stop.abort()
  assert.ok((await far) === 0, 'stopped before the instant: not late, just stopped')
})
