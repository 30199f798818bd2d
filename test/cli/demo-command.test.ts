import assert from 'node:assert/strict'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { hopwatch } from '../support/cli.js'

test('hopwatch demo exits 0, prints the per-step table, and leaves a store that hopwatch sql reads', { timeout: 300_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-demo-'))
  const demo = await hopwatch(['demo'], dir)
  assert.equal(demo.code, 0, demo.stderr)
  assert.match(demo.stdout, /ramp over 6 steps \(10, 13, 16, 20, 25, 31\)/)
  // the verdict first: the preset's planted bottleneck is the LLM
  // or, on a machine too busy to measure, an honest cannot-tell that names the steps and why: never another component
  assert.match(demo.stdout, /^(The system handles \d+ concurrent conversations .*LLM degrades first|.*([Cc]annot tell|not valid))/m)
  assert.doesNotMatch(demo.stdout, /^.*(STT|TTS|BACKEND|S2S) degrades first/m)
  assert.match(demo.stdout, /^Callers, per step/m)
  for (const target of [10, 13, 16, 20, 25, 31]) assert.match(demo.stdout, new RegExp(`^\\s+\\d\\s+${target}\\s+\\d+\\s`, 'm'))
  // the last line: the run's HTML report, written beside the store
  const lastLine = demo.stdout.trimEnd().split('\n').at(-1) ?? ''
  const report = /^report: (\/.*\.html)$/.exec(lastLine)?.[1]
  assert.ok(report !== undefined && report.startsWith(dir), lastLine)
  const html = await readFile(report, 'utf8')
  assert.match(html, /^<!doctype html>/)
  assert.match(html, /<script id="hopwatch-data" type="application\/octet-stream">[A-Za-z0-9+/=]+<\/script>/)
  const sql = await hopwatch(['sql', "SELECT count() AS turns, countIf(success = 1) AS ok FROM hopwatch.turns"], dir)
  assert.equal(sql.code, 0, sql.stderr)
  const row = JSON.parse(sql.stdout.trim()) as { turns: number; ok: number }
  assert.ok(row.turns > 100 && row.ok > 0, sql.stdout)
  const joined = await hopwatch(['sql', 'SELECT count() AS n FROM hopwatch.hops WHERE (conversation_id, turn) NOT IN (SELECT conversation_id, turn FROM hopwatch.turns)'], dir)
  assert.equal((JSON.parse(joined.stdout.trim()) as { n: number }).n, 0, 'every hop joins a turn')
  // the stored run analysed again, as JSON
  const analysis = await hopwatch(['analyze', '--format', 'json'], dir)
  assert.equal(analysis.code, 0, analysis.stderr)
  const json = JSON.parse(analysis.stdout) as { run: { run_id: string }; first_degraded: { component: string } | undefined; invalid_steps: unknown[]; capacity: { load: number } | undefined; steps: unknown[]; degraded_at: Record<string, unknown> }
  if (json.first_degraded !== undefined) assert.equal(json.first_degraded.component, 'llm')
  else assert.ok(json.invalid_steps.length > 0, 'named nothing although every step was valid')
  assert.equal(json.steps.length, 6)
  assert.equal(json.degraded_at.stt, null)
  // a CI gate: JUnit with a test case per SLO, and exit 1 when one breaks at or below the expected peak
  await writeFile(join(dir, 'loose.yaml'), 'response_p95_ms: 60000\nsuccess_min: 0.1\n')
  await writeFile(join(dir, 'tight.yaml'), 'response_p95_ms: 100\n')
  const pass = await hopwatch(['analyze', '--format', 'junit', '--slo', 'loose.yaml', '--fail-on-breach', '--expected-peak', '31'], dir)
  assert.equal(pass.code, 0, pass.stderr)
  assert.match(pass.stdout, /<testsuites name="hopwatch" tests="6" failures="0">/)
  const fail = await hopwatch(['analyze', '--format', 'junit', '--slo', 'tight.yaml', '--fail-on-breach', '--expected-peak', '10'], dir)
  assert.equal(fail.code, 1)
  assert.match(fail.stdout, /<testcase classname="hopwatch.slo" name="response p95 holds up to 10">\s*<failure message="response p95 breached 1 time\(s\)">at load 10 \(step 0\)/)
  assert.match(fail.stderr, /SLO breached at or below 10: response p95 at 10/)
  const same = await hopwatch(['compare', '--run', json.run.run_id, '--baseline', json.run.run_id], dir)
  assert.equal(same.code, 0, same.stderr)
  assert.match(same.stdout, /^No regression in demo-/)
  const missing = await hopwatch(['analyze', '--run', 'no-such-run'], dir)
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /no run no-such-run in the store/)
})

test('hopwatch run with neither a config nor --sim is a usage error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-run-'))
  const run = await hopwatch(['run'], dir)
  assert.equal(run.code, 2)
  assert.match(run.stderr, /HW_CLI_USAGE: no hopwatch.yaml here/)
})
