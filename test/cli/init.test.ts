import assert from 'node:assert/strict'
import { test } from 'node:test'
import { EXAMPLE_CONFIG } from '../../src/cli/commands/init.js'
import { parseConfig } from '../../src/config/index.js'
import { ADAPTER_NAMES } from '../../src/proxy/index.js'

test('the config hopwatch init writes is valid as written, resources and alerts included', () => {
  const config = parseConfig(EXAMPLE_CONFIG, 'hopwatch.yaml', { adapters: ADAPTER_NAMES })
  assert.deepEqual(config.upstreams.map((u) => u.name), ['stt', 'openai', 'tts', 'booking-api'])
  assert.deepEqual(config.resources.targets.map((t) => [t.name, t.process?.match, t.memory_limit_mb]), [['agent', 'node agent.js', 2048]])
  assert.equal(config.alerts.rules.component_p95_ms.llm, 1500)
})
