import assert from 'node:assert/strict'
import { test } from 'node:test'
import { redacted } from '../../src/cli/recording.js'
import { ConfigError, validateConfig } from '../../src/config/index.js'
import { ADAPTER_NAMES } from '../../src/proxy/index.js'
import { redactUrl } from '../../src/redact.js'

test('a target URL with credentials is refused without echoing the password or a query secret', () => {
  let message = ''
  try {
    validateConfig({ proxy: { port: 0 }, upstreams: [{ name: 'llm', component: 'llm', target: 'https://user:hunter2@api.example.com/v1?api_key=sk-live-123', prefix: '/llm' }] }, 'test', { adapters: ADAPTER_NAMES })
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    message = `${err.message}\n${JSON.stringify(err)}`
  }
  assert.match(message, /upstreams\[0\]\.target/)
  assert.match(message, /must not carry credentials/)
  assert.doesNotMatch(message, /hunter2|sk-live-123/)
})

test('webhook and Alertmanager URLs are redacted in the config stored with a run', () => {
  const config = validateConfig(
    {
      proxy: { port: 0 },
      upstreams: [{ name: 'llm', component: 'llm', target: 'http://127.0.0.1:9', prefix: '/llm' }],
      alerts: { sinks: { webhooks: ['https://hooks.slack.example/services/T000/B000/XXXXSECRET'], alertmanagers: ['https://am.example/tok3n-path/'] } },
    },
    'test',
    { adapters: ADAPTER_NAMES },
  )
  const stored = JSON.stringify(redacted(config))
  assert.doesNotMatch(stored, /XXXXSECRET|T000|B000|tok3n/)
  assert.match(stored, /https:\/\/hooks\.slack\.example\/\*\*\*/)
})

test('redactUrl hides user, password and query values, and with path: true the whole path', () => {
  assert.equal(redactUrl('https://u:p@h.example/a/b?k=v&x=y#f'), 'https://***:***@h.example/a/b?k=***&x=***')
  assert.equal(redactUrl('https://h.example/services/T/B/S', { path: true }), 'https://h.example/***')
  assert.equal(redactUrl('http://127.0.0.1:9093', { path: true }), 'http://127.0.0.1:9093/')
  assert.equal(redactUrl('not a url'), '(a URL that could not be parsed, not shown)')
})
