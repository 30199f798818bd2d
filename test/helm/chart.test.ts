import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { after, before, test } from 'node:test'
import { Ajv } from 'ajv'
import { parse } from 'yaml'
import { CHART_DIR, renderChart, type Rendered } from '../support/helm.js'
import { loadCommand, proxyCommand, SCALE_OUT_PROFILE } from '../support/commands.js'
import { validateObject } from '../support/kubernetes.js'

const run = promisify(execFile)
const values = parse(await readFile(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>
const schema = JSON.parse(await readFile(join(CHART_DIR, 'values.schema.json'), 'utf8')) as object
const ajv = new Ajv({ allErrors: true, strict: false })
const validateValues = ajv.compile(schema)

/** Values over values.yaml, as `helm install -f` merges them. */
function merged(over: Record<string, unknown>): Record<string, unknown> {
  const merge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...a }
    for (const [k, v] of Object.entries(b)) out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && typeof a[k] === 'object' && a[k] !== null ? merge(a[k] as Record<string, unknown>, v as Record<string, unknown>) : v
    return out
  }
  return merge(values, over)
}

const UPSTREAMS = [
  { name: 'stt', component: 'stt', adapter: 'deepgram', target: 'https://api.deepgram.com', prefix: '/stt' },
  { name: 'llm', component: 'llm', adapter: 'openai', target: 'https://api.openai.com/v1', prefix: '/llm' },
]
const START_AT = '2026-12-01T02:00:00Z'
/** Every optional block, one at a time, and all together. */
const CASES: Record<string, Record<string, unknown>> = {
  'an external ClickHouse (the default blocks)': { clickhouse: { url: 'http://clickhouse:8123' }, proxy: { upstreams: UPSTREAMS } },
  'the proxy as a Deployment, with a ServiceMonitor': { clickhouse: { url: 'http://clickhouse:8123' }, proxy: { upstreams: UPSTREAMS, deployment: { enabled: true, replicas: 2 } }, serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } } },
  'the proxy as a Deployment of two worker processes each': { clickhouse: { url: 'http://clickhouse:8123' }, proxy: { upstreams: UPSTREAMS, workers: 2, deployment: { enabled: true } } },
  'the load generators as an Indexed Job': { clickhouse: { url: 'http://clickhouse:8123' }, proxy: { upstreams: UPSTREAMS }, loadgen: { enabled: true, shards: 3, runId: 'scale', startAt: START_AT, proxyUrl: 'http://proxy:8787', args: [...SCALE_OUT_PROFILE] } },
  'a trial ClickHouse StatefulSet with a password Secret': { clickhouse: { statefulSet: { enabled: true }, passwordSecret: { name: 'clickhouse', key: 'password' } }, proxy: { upstreams: UPSTREAMS } },
  'a ClickHouse cluster': { clickhouse: { url: 'http://ch-0:8123', cluster: 'hw', nodes: ['http://ch-0:8123', 'http://ch-1:8123'] }, proxy: { upstreams: UPSTREAMS } },
  'the Grafana dashboards': { clickhouse: { url: 'http://clickhouse:8123' }, proxy: { upstreams: UPSTREAMS }, dashboards: { enabled: true } },
  'an Altinity ClickHouseInstallation of two shards of two replicas': { clickhouse: { user: 'hopwatch', passwordSecret: { name: 'clickhouse', key: 'password' }, altinity: { enabled: true, shards: 2, replicas: 2, zookeeperNodes: [{ host: 'zookeeper.zk', port: 2181 }] } }, proxy: { upstreams: UPSTREAMS } },
  'a NetworkPolicy for the agent\'s pods, where the sidecar runs': { clickhouse: { url: 'http://clickhouse:8123' }, proxy: { upstreams: UPSTREAMS, sidecarNetworkPolicy: { enabled: true, agentPodLabels: { app: 'voice-agent' }, agentPorts: [8080, 'sip'] } } },
}
CASES['everything at once'] = Object.values(CASES).reduce((a, b) => merged({ ...a, ...b }), {})

const rendered = new Map<string, Rendered>()
before(async () => {
  for (const [name, over] of Object.entries(CASES)) rendered.set(name, await renderChart(over))
})

for (const name of Object.keys(CASES)) {
  test(`the chart renders with ${name}: valid values, and every object valid against the Kubernetes schemas`, async () => {
    assert.ok(validateValues(merged(CASES[name] as Record<string, unknown>)), ajv.errorsText(validateValues.errors))
    const r = rendered.get(name) as Rendered
    assert.ok(r.objects.length >= 3)
    for (const { source, object } of r.objects) {
      // the operator's CRD has no schema package on npm: its object is checked field by field below
      if (object.kind === 'ClickHouseInstallation') continue
      const problems = await validateObject(object)
      assert.deepEqual(problems, [], `${source} ${String(object.kind)} ${String((object.metadata as { name?: string })?.name)}`)
    }
    assert.match(r.notes, /hopwatch analyze --run/)
  })
}

test('the Kubernetes validator refuses a broken object (so the passes above mean something)', async () => {
  const broken = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ name: 'c', ports: [{ containerPort: 'http' }] }] } } } }
  assert.notDeepEqual(await validateObject(broken), [])
})

test('bad values fail at install with the field named (values.schema.json)', () => {
  const bad = [
    [{ clickhouse: { url: 'clickhouse:8123' } }, '/clickhouse/url'],
    [{ loadgen: { shards: 0 } }, '/loadgen/shards'],
    [{ proxy: { upstreams: [{ name: 'x', component: 'ttx', target: 'http://x' }] } }, '/proxy/upstreams/0/component'],
    [{ serviceMonitr: {} }, 'serviceMonitr'],
    [{ proxy: { workers: -1 } }, '/proxy/workers'],
  ] as const
  for (const [over, field] of bad) {
    assert.equal(validateValues(merged(over as Record<string, unknown>)), false, JSON.stringify(over))
    assert.ok(validateValues.errors?.some((e) => e.instancePath === field || JSON.stringify(e.params).includes(field)), `${field}: ${ajv.errorsText(validateValues.errors)}`)
  }
})

test('the agent pod\'s NetworkPolicy opens only the agent\'s ports to its callers and the proxy\'s port to Prometheus', () => {
  const policy = rendered.get('a NetworkPolicy for the agent\'s pods, where the sidecar runs')?.objects.find((o) => o.object.kind === 'NetworkPolicy')?.object as {
    spec: { podSelector: unknown; policyTypes: string[]; ingress: Array<{ from: unknown[]; ports: Array<{ port: unknown }> }> }
  }
  assert.ok(policy !== undefined)
  assert.deepEqual(policy.spec.podSelector, { matchLabels: { app: 'voice-agent' } })
  assert.deepEqual(policy.spec.policyTypes, ['Ingress'])
  const [callers, prometheus] = policy.spec.ingress
  assert.deepEqual(callers?.ports.map((p) => p.port), [8080, 'sip'])
  assert.deepEqual(callers?.from, [
    { podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'test', 'app.kubernetes.io/component': 'loadgen' } } },
    { podSelector: { matchLabels: { 'hopwatch-client': 'true' } } },
  ])
  assert.deepEqual(prometheus?.ports.map((p) => p.port), [8787], 'the proxy port (/metrics) only; the admin API is on loopback')
  assert.deepEqual(prometheus?.from, [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }])
  assert.equal(policy.spec.ingress.length, 2, 'nothing else reaches the pod')
  assert.equal(rendered.get('an external ClickHouse (the default blocks)')?.objects.some((o) => o.object.kind === 'NetworkPolicy'), false, 'off by default')
})

test('the Altinity ClickHouseInstallation is shards x replicas with ZooKeeper, and the store uses it: its Service, its cluster, replicated', () => {
  const r = rendered.get('an Altinity ClickHouseInstallation of two shards of two replicas') as Rendered
  const chi = r.objects.find((o) => o.object.kind === 'ClickHouseInstallation')?.object as { apiVersion: string; metadata: { name: string }; spec: { configuration: { clusters: unknown[]; zookeeper: unknown; users: Record<string, unknown> }; templates: { podTemplates: Array<{ spec: { containers: Array<{ image: string }> } }> } } }
  assert.equal(chi.apiVersion, 'clickhouse.altinity.com/v1')
  assert.equal(chi.metadata.name, 'test-hopwatch')
  assert.deepEqual(chi.spec.configuration.clusters, [{ name: 'hopwatch', layout: { shardsCount: 2, replicasCount: 2 } }])
  assert.deepEqual(chi.spec.configuration.zookeeper, { nodes: [{ host: 'zookeeper.zk', port: 2181 }] })
  assert.deepEqual(chi.spec.configuration.users['hopwatch/password'], { valueFrom: { secretKeyRef: { name: 'clickhouse', key: 'password' } } })
  assert.equal(chi.spec.templates.podTemplates[0]?.spec.containers[0]?.image, 'clickhouse/clickhouse-server:24.8')
  const configMap = r.objects.find((o) => o.object.kind === 'ConfigMap' && String((o.object.metadata as { name: string }).name).endsWith('-config'))?.object as { data: Record<string, string> }
  const store = (parse(configMap.data['hopwatch.yaml'] as string) as { store: { clickhouse: Record<string, unknown> } }).store.clickhouse
  assert.deepEqual(store, { url: 'http://clickhouse-test-hopwatch:8123', user: 'hopwatch', cluster: 'hopwatch', replicated: true })
  const hook = r.objects.find((o) => o.object.kind === 'Job' && String((o.object.metadata as { name: string }).name).endsWith('-migrate'))?.object as { metadata: { annotations: Record<string, string> } }
  assert.equal(hook.metadata.annotations['helm.sh/hook'], 'post-install,pre-upgrade', 'the schema after the installation exists')
})

test('an Altinity cluster of single-replica shards lists each host for the node-by-node schema; without ZooKeeper for replicas, a password Secret or a user of its own, it fails naming the value', async () => {
  const base = { user: 'hopwatch', passwordSecret: { name: 'clickhouse', key: 'password' } }
  const r = await renderChart({ clickhouse: { ...base, altinity: { enabled: true, shards: 3, replicas: 1 } }, proxy: { upstreams: UPSTREAMS } })
  const configMap = r.objects.find((o) => o.object.kind === 'ConfigMap' && String((o.object.metadata as { name: string }).name).endsWith('-config'))?.object as { data: Record<string, string> }
  const store = (parse(configMap.data['hopwatch.yaml'] as string) as { store: { clickhouse: Record<string, unknown> } }).store.clickhouse
  assert.deepEqual(store.nodes, [0, 1, 2].map((s) => `http://chi-test-hopwatch-hopwatch-${s}-0:8123`))
  assert.equal(store.replicated, undefined)
  await assert.rejects(renderChart({ clickhouse: { ...base, altinity: { enabled: true, replicas: 2 } }, proxy: { upstreams: UPSTREAMS } }), /clickhouse\.altinity\.zookeeperNodes is empty/)
  await assert.rejects(renderChart({ clickhouse: { user: 'hopwatch', altinity: { enabled: true } }, proxy: { upstreams: UPSTREAMS } }), /clickhouse\.passwordSecret\.name/)
  await assert.rejects(renderChart({ clickhouse: { passwordSecret: base.passwordSecret, altinity: { enabled: true } }, proxy: { upstreams: UPSTREAMS } }), /clickhouse\.user set to a user of its own/)
  assert.equal(validateValues(merged({ clickhouse: { ...base, altinity: { enabled: true, replicas: 2 } } })), false)
  assert.ok(validateValues.errors?.some((e) => e.instancePath === '/clickhouse/altinity/zookeeperNodes'), ajv.errorsText(validateValues.errors))
})

test('an agent NetworkPolicy without the agent\'s labels or ports fails at install, naming the value', async () => {
  const over = (policy: Record<string, unknown>) => ({ clickhouse: { url: 'http://c:8123' }, proxy: { upstreams: UPSTREAMS, sidecarNetworkPolicy: { enabled: true, ...policy } } })
  await assert.rejects(renderChart(over({ agentPorts: [8080] })), /proxy\.sidecarNetworkPolicy\.agentPodLabels is empty/)
  await assert.rejects(renderChart(over({ agentPodLabels: { app: 'a' } })), /proxy\.sidecarNetworkPolicy\.agentPorts is empty/)
  assert.equal(validateValues(merged(over({ agentPodLabels: { app: 'a' } }))), false)
  assert.ok(validateValues.errors?.some((e) => e.instancePath === '/proxy/sidecarNetworkPolicy/agentPorts'), ajv.errorsText(validateValues.errors))
})

test('without a ClickHouse URL or the trial StatefulSet, rendering fails and says which value to set', async () => {
  await assert.rejects(renderChart({ proxy: { upstreams: UPSTREAMS } }), /clickhouse\.url is empty/)
  await assert.rejects(renderChart({ clickhouse: { url: 'http://c:8123' }, loadgen: { enabled: true, startAt: START_AT } }), /loadgen\.runId/)
})

let bin: string
before(async () => {
  // a stand-in `hopwatch` on PATH that prints the arguments it was started with
  bin = await mkdtemp(join(tmpdir(), 'hopwatch-argv-'))
  await writeFile(join(bin, 'hopwatch'), `#!${process.execPath}\nprocess.stdout.write(JSON.stringify(process.argv.slice(2)))\n`)
  await chmod(join(bin, 'hopwatch'), 0o755)
})
after(() => rm(bin, { recursive: true, force: true }))

test('the load Job\'s pods run exactly the commands of the scale-out test, shard by shard, through a real shell', async () => {
  const job = rendered.get('the load generators as an Indexed Job')?.objects.find((o) => o.object.kind === 'Job' && String((o.object.metadata as { name: string }).name).includes('-load-'))?.object as { spec: { completionMode: string; completions: number; parallelism: number; template: { spec: { containers: Array<{ command: string[]; args: string[] }> } } } }
  assert.ok(job !== undefined)
  assert.deepEqual([job.spec.completionMode, job.spec.completions, job.spec.parallelism], ['Indexed', 3, 3])
  const [container] = job.spec.template.spec.containers
  assert.ok(container !== undefined)
  for (const index of [0, 1, 2]) {
    const [shell, ...rest]: string[] = container.command
    const { stdout }: { stdout: string } = await run(shell ?? '', [...rest, ...container.args], { env: { PATH: `${bin}:${process.env.PATH}`, JOB_COMPLETION_INDEX: String(index) } })
    assert.deepEqual(JSON.parse(stdout), loadCommand({ config: '/etc/hopwatch/hopwatch.yaml', proxyUrl: 'http://proxy:8787', runId: 'scale', startAt: START_AT, profile: SCALE_OUT_PROFILE, shard: `${index + 1}/3` }))
  }
})

test('the sidecar and the proxy Deployment run the scale-out test\'s proxy command, probed on /healthz', () => {
  const r = rendered.get('the proxy as a Deployment, with a ServiceMonitor') as Rendered
  const deployment = r.objects.find((o) => o.object.kind === 'Deployment')?.object as { spec: { template: { spec: { containers: Array<{ args: string[]; readinessProbe: { httpGet: { path: string } } }> } } } }
  const [container] = deployment.spec.template.spec.containers
  assert.deepEqual(container?.args, proxyCommand('/etc/hopwatch/hopwatch.yaml'))
  assert.equal(container?.readinessProbe.httpGet.path, '/healthz')
  const config = parse(String((r.objects.find((o) => o.object.kind === 'ConfigMap')?.object as { data: Record<string, string> }).data['hopwatch.yaml'])) as { store: { clickhouse: Record<string, unknown> }; upstreams: unknown[] }
  assert.deepEqual(config.upstreams, UPSTREAMS)
  assert.deepEqual(config.store.clickhouse, { url: 'http://clickhouse:8123', user: 'default' }, 'no password in the ConfigMap')
  assert.ok(r.objects.some((o) => o.object.kind === 'NetworkPolicy'), 'the shared proxy is closed to all but its callers and Prometheus')
})

test('proxy.workers runs the proxy with --workers N in the sidecar container, which is the proxy Deployment\'s container too', () => {
  for (const [name, workers] of [['the proxy as a Deployment of two worker processes each', 2], ['the proxy as a Deployment, with a ServiceMonitor', 0]] as const) {
    const r = rendered.get(name) as Rendered
    const deployment = r.objects.find((o) => o.object.kind === 'Deployment')?.object as { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } }
    assert.deepEqual(deployment.spec.template.spec.containers[0]?.args, proxyCommand('/etc/hopwatch/hopwatch.yaml', workers), name)
  }
})

test('the dashboards in the chart are the ones in dashboards/, one ConfigMap each, labelled for Grafana\'s sidecar', async () => {
  const root = join(CHART_DIR, '..', '..', 'dashboards')
  const files = (await readdir(root)).filter((f) => f.endsWith('.json')).sort()
  for (const f of files) assert.equal(await readFile(join(CHART_DIR, 'files', 'dashboards', f), 'utf8'), await readFile(join(root, f), 'utf8'), `helm/hopwatch/files/dashboards/${f} is stale: copy dashboards/*.json`)
  const maps = (rendered.get('the Grafana dashboards') as Rendered).objects.filter((o) => o.source.includes('dashboards.yaml'))
  assert.equal(maps.length, files.length)
  for (const m of maps) assert.equal((m.object.metadata as { labels: Record<string, string> }).labels.grafana_dashboard, '1')
})
