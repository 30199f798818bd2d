import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, parseConfig, validateConfig } from '../../src/config/index.js'
import { ADAPTER_NAMES } from '../../src/proxy/index.js'

const options = { adapters: ADAPTER_NAMES }
const good = { upstreams: [{ name: 'llm', component: 'llm', adapter: 'openai', target: 'http://127.0.0.1:9000/v1', prefix: '/llm' }] }

function problemsOf(raw: unknown): Array<{ path: string; message: string; fix: string }> {
  try {
    validateConfig(raw, 'hopwatch.yaml', options)
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    assert.equal(err.code, 'HW_CONFIG_INVALID')
    return err.problems.map((p) => ({ path: p.path, message: p.message, fix: p.fix }))
  }
  assert.fail('the config was accepted')
}

test('a valid config comes back fully defaulted and frozen', () => {
  const config = validateConfig(good, 'hopwatch.yaml', options)
  assert.equal(config.proxy.port, 8787)
  assert.equal(config.proxy.timeouts.headers_ms, 120_000)
  assert.equal(config.store.dir, './.hopwatch')
  assert.equal(config.store.clickhouse, undefined)
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.upstreams[0]))
})

test('every problem is reported at once, each naming its field, the bad value and a fix', () => {
  const problems = problemsOf({
    proxy: { port: 'eighty', timeoutz: {} },
    upstreams: [
      { name: 'llm', component: 'lm', adapter: 'opnai', target: 'ftp://x', prefix: '/llm' },
      { name: 'Bad Name', component: 'tts', target: 'not a url', prefix: 'tts' },
    ],
  })
  const byPath = new Map(problems.map((p) => [p.path, p]))
  assert.deepEqual([...byPath.keys()].sort(), [
    'proxy.port',
    'proxy.timeoutz',
    'upstreams[0].adapter',
    'upstreams[0].component',
    'upstreams[0].target',
    'upstreams[1].name',
    'upstreams[1].prefix',
    'upstreams[1].target',
  ])
  assert.match(byPath.get('upstreams[0].adapter')!.fix, /did you mean "openai"/)
  assert.match(byPath.get('upstreams[0].component')!.message, /stt, llm, tts, s2s, backend, router/)
  assert.match(byPath.get('proxy.timeoutz')!.fix, /did you mean "timeouts"/)
  for (const p of problems) assert.ok(p.fix.length > 0, `${p.path} has a fix`)
})

test('the error message lists each problem on its own line with path, value and fix', () => {
  assert.throws(
    () => parseConfig('upstreams:\n  - name: llm\n    component: llm\n    target: http://127.0.0.1:1\n    prefix: /llm\n    port: 0\n', 'my.yaml', options),
    (err: ConfigError) => /my\.yaml has 1 problem:\n {2}- upstreams\[0\]: \{"prefix":"\/llm","port":0\} needs exactly one of prefix or port\. Fix: /.test(err.message),
  )
})

test('upstreams may not share names, ports or prefixes, nor shadow the proxy\'s own paths', () => {
  const u = (name: string, extra: object) => ({ name, component: 'backend', target: 'http://127.0.0.1:1', ...extra })
  const problems = problemsOf({ proxy: { port: 9000 }, upstreams: [u('a', { prefix: '/a' }), u('a', { prefix: '/a' }), u('b', { port: 9000 }), u('c', { prefix: '/metrics' })] })
  const messages = problems.map((p) => `${p.path} ${p.message}`)
  assert.ok(messages.some((m) => m.startsWith('upstreams[1].name is already the name of upstreams[0]')))
  assert.ok(messages.some((m) => m.startsWith('upstreams[1].prefix is already the prefix of upstreams[0]')))
  assert.ok(messages.some((m) => m.startsWith('upstreams[2].port is already used by proxy.port')))
  assert.ok(messages.some((m) => m.startsWith("upstreams[3].prefix collides with the proxy's own paths")))
})

test('a target URL with credentials is refused: callers send their own, the config never holds them', () => {
  const problems = problemsOf({ upstreams: [{ name: 'llm', component: 'llm', target: 'https://user:sk-123@api.example.com', prefix: '/llm' }] })
  assert.equal(problems[0]?.path, 'upstreams[0].target')
  assert.match(problems[0]!.message, /credentials/)
})

test('invalid YAML is reported with its position', () => {
  assert.throws(() => parseConfig('upstreams:\n  - name: [unclosed\n', 'bad.yaml', options), (err: ConfigError) => err.code === 'HW_CONFIG_YAML' && /line \d+/.test(err.message))
})

test('command-line overrides win over the file and are validated like it', () => {
  const config = validateConfig(good, 'f', { ...options, overrides: { 'proxy.port': 9999, 'store.clickhouse.url': 'http://127.0.0.1:8123' }, env: { HOPWATCH_CLICKHOUSE_PASSWORD: 'pw' } })
  assert.equal(config.proxy.port, 9999)
  assert.equal(config.store.clickhouse?.url, 'http://127.0.0.1:8123')
  assert.equal(config.store.clickhouse?.password, 'pw')
  assert.throws(() => validateConfig(good, 'f', { ...options, overrides: { 'proxy.port': 70000 } }), /proxy\.port: 70000 must be from 0 to 65535/)
})

test('resource targets name exactly one thing to sample, a process by pid or by match, each under its own name', () => {
  const shapes = problemsOf({
    ...good,
    resources: { interval_s: 0, targets: [{ name: 'agent', cgroup: 'sys/fs/cgroup/x' }, { name: 'vllm', prometheus: { url: 'http://127.0.0.1:8000/metrics', metrics: [] } }, { name: 'x', procss: { pid: 1 } }] },
  })
  assert.deepEqual(shapes.map((p) => p.path).sort(), ['resources.interval_s', 'resources.targets[0].cgroup', 'resources.targets[1].prometheus.metrics', 'resources.targets[2].procss'])
  assert.match(shapes.find((p) => p.path === 'resources.targets[2].procss')!.fix, /did you mean "process"/)
  // once each target is well formed, what spans its fields
  const problems = problemsOf({
    ...good,
    resources: { targets: [{ name: 'agent', process: { pid: 12, match: 'node agent.js' } }, { name: 'agent', cgroup: '/sys/fs/cgroup/x', network: { interface: 'eth0' } }, { name: 'gpu' }] },
  })
  const byPath = new Map(problems.map((p) => [p.path, p]))
  assert.deepEqual([...byPath.keys()].sort(), ['resources.targets[0].process', 'resources.targets[1]', 'resources.targets[1].name', 'resources.targets[2]'])
  assert.match(byPath.get('resources.targets[0].process')!.fix, /pid: 1234, or match/)
  assert.match(byPath.get('resources.targets[1]')!.message, /names cgroup and network/)
  assert.match(byPath.get('resources.targets[2]')!.message, /says nothing to sample/)
})

test('the alerts section comes defaulted from the default SLOs, and its mistakes are named', () => {
  const config = validateConfig(good, 'hopwatch.yaml', options)
  assert.deepEqual(config.alerts.rules.component_p95_ms, { stt: 800, llm: 1500, tts: 600, s2s: 1200, backend: 500 })
  assert.equal(config.alerts.rules.success_min, 0.95)
  assert.deepEqual(config.alerts.sinks, { log: true, webhooks: [], alertmanagers: [], timeout_ms: 5000 })
  assert.equal(config.resources.self, true)
  const problems = problemsOf({ ...good, alerts: { for_s: -1, rules: { error_rate_max: 5, component_p95_ms: { lm: 100 } }, sinks: { webhooks: ['ftp://x'], alertmanager: ['http://127.0.0.1:9093'] } } })
  const byPath = new Map(problems.map((p) => [p.path, p]))
  assert.deepEqual([...byPath.keys()].sort(), ['alerts.for_s', 'alerts.rules.component_p95_ms.lm', 'alerts.rules.error_rate_max', 'alerts.sinks.alertmanager', 'alerts.sinks.webhooks[0]'])
  assert.match(byPath.get('alerts.rules.component_p95_ms.lm')!.fix, /did you mean "llm"/)
  assert.match(byPath.get('alerts.sinks.alertmanager')!.fix, /did you mean "alertmanagers"/)
})

test('the telemetry section: export off unless an endpoint is given, the receiver on, and its mistakes are named', () => {
  const config = validateConfig(good, 'hopwatch.yaml', options)
  assert.equal(config.telemetry.otlp.endpoint, undefined)
  assert.deepEqual(config.telemetry.receiver, { enabled: true, max_body_bytes: 8 * 1024 * 1024, max_pending_bytes: 32 * 1024 * 1024, hold_s: 30, keep_content: false, token_env: 'HOPWATCH_RECEIVER_TOKEN', max_requests_per_s: 50, max_bytes_per_s: 16 * 1024 * 1024 })
  const problems = problemsOf({ ...good, telemetry: { otlp: { endpoint: 'collector:4318', max_queue: 2 }, reciever: { enabled: true } } })
  const byPath = new Map(problems.map((p) => [p.path, p]))
  assert.deepEqual([...byPath.keys()].sort(), ['telemetry.otlp.endpoint', 'telemetry.otlp.max_queue', 'telemetry.reciever'])
  assert.match(byPath.get('telemetry.reciever')!.fix, /did you mean "receiver"/)
  assert.match(byPath.get('telemetry.otlp.endpoint')!.fix, /http:\/\/127\.0\.0\.1:4318/)
  // an upstream may not take the receiver's path
  const shadow = problemsOf({ ...good, upstreams: [{ name: 'x', component: 'llm', target: 'http://127.0.0.1:1', prefix: '/v1' }] })
  assert.ok(shadow.some((p) => p.path === 'upstreams[0].prefix' && /\/v1\/traces/.test(p.message)))
})

test('an upstream\'s routes name a path ending and a known component; mistakes are named with a fix', () => {
  const config = validateConfig({ upstreams: [{ ...good.upstreams[0], routes: [{ path: '/embeddings', component: 'backend' }] }] }, 'hopwatch.yaml', options)
  assert.deepEqual(config.upstreams[0]?.routes, [{ path: '/embeddings', component: 'backend' }])
  assert.deepEqual(validateConfig(good, 'hopwatch.yaml', options).upstreams[0]?.routes, [])
  const problems = problemsOf({ upstreams: [{ ...good.upstreams[0], routes: [{ path: 'embeddings', component: 'backend' }, { path: '/x', component: 'tss' }] }] })
  assert.deepEqual(problems.map((p) => p.path), ['upstreams[0].routes[0].path', 'upstreams[0].routes[1].component'])
  assert.match(problems[0]!.fix, /starting with "\/"/)
  assert.match(problems[1]!.fix, /tts/)
})

test('checks across fields are reported in the same pass as the fields\' own problems, without repeating them', () => {
  const problems = problemsOf({
    proxy: { port: 'x' },
    upstreams: [
      { name: 'llm', component: 'lm', adapter: 'openai', target: 'http://127.0.0.1:9/v1', prefix: '/llm' },
      { name: 'llm', component: 'llm', adapter: 'openai', target: 'http://127.0.0.1:9/v1', prefix: '/llm' },
      { name: 'tts', component: 'tts', adapter: 'openai', target: 'http://127.0.0.1:9/v1', prefx: '/tts' },
    ],
  })
  assert.deepEqual(problems.map((p) => p.path), ['proxy.port', 'upstreams[0].component', 'upstreams[2].prefx', 'upstreams[1].name', 'upstreams[1].prefix'])
})

test('a ClickHouse cluster needs its name and every node (unless replicated), each an http(s) URL', () => {
  const ch = (extra: object) => ({ ...good, store: { clickhouse: { url: 'http://ch-0:8123', ...extra } } })
  assert.deepEqual(problemsOf(ch({ cluster: 'hw' })).map((p) => `${p.path} ${p.message}`), ['store.clickhouse.nodes is not set, and store.clickhouse.cluster needs it'])
  assert.deepEqual(problemsOf(ch({ replicated: true })).map((p) => `${p.path} ${p.message}`), ['store.clickhouse.cluster is not set, and store.clickhouse.replicated needs it'])
  assert.equal(validateConfig(ch({ cluster: 'hw', replicated: true }), 'hopwatch.yaml', options).store.clickhouse?.replicated, true, 'a replicated cluster runs its DDL ON CLUSTER: no node list needed')
  assert.deepEqual(problemsOf(ch({ nodes: ['http://ch-0:8123'] })).map((p) => p.path), ['store.clickhouse.cluster'])
  assert.deepEqual(problemsOf(ch({ cluster: 'hw', nodes: ['http://ch-0:8123', 'ch-1:8123'] })).map((p) => p.path), ['store.clickhouse.nodes[1]'])
  const config = validateConfig(ch({ cluster: 'hw', nodes: ['http://ch-0:8123', 'http://ch-1:8123'] }), 'hopwatch.yaml', options)
  assert.deepEqual(config.store.clickhouse?.nodes, ['http://ch-0:8123', 'http://ch-1:8123'])
})

test('the OTLP receiver\'s per-source limits can be raised far above their defaults', () => {
  // max_bytes_per_s once had an upper bound of `1 << 40`, which is 256 in JavaScript: no value was accepted
  const config = validateConfig({ ...good, telemetry: { receiver: { max_requests_per_s: 100_000, max_bytes_per_s: 1_000_000_000 } } }, 'hopwatch.yaml', options)
  assert.equal(config.telemetry.receiver.max_bytes_per_s, 1_000_000_000)
  assert.equal(config.telemetry.receiver.max_requests_per_s, 100_000)
})

test('a numeric bound that admits no value is refused where it is defined', async () => {
  const { int, num } = await import('../../src/config/validate.js')
  assert.throws(() => int({ min: 1024, max: 256 }), /admits no value/)
  assert.throws(() => num({ min: 1, max: 0 }), /admits no value/)
})
