import assert from 'node:assert/strict'
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { test, type TestContext } from 'node:test'
import { cgroupProbe, type Probe, matchProbe, networkProbe, nvidiaProbe, parseExposition, parseNvidiaSmi, pidProbe, prometheusProbe, ResourceSampler, type ResourceSample, type TargetEvent } from '../../src/resources/index.js'
import { simulate } from '../support/sim.js'

const MIB = 1024 * 1024

test('a process matched by its command line is found, summed over its processes, and followed', async () => {
  const marker = `hopwatch-probe-${process.pid}-${Date.now()}`
  const children = [0, 1].map(() => spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', marker]))
  try {
    await Promise.all(children.map((c) => new Promise((r) => c.once('spawn', r))))
    const values = await matchProbe('workers', marker).read()
    assert.equal(values?.processes, 2)
    assert.ok((values?.rss_bytes ?? 0) > 2 * 10 * MIB, `rss ${values?.rss_bytes}`)
    assert.ok((values?.threads ?? 0) >= 2 && (values?.open_fds ?? 0) >= 2 * 3)
  } finally {
    for (const c of children) c.kill()
  }
  await assert.rejects(matchProbe('none', `${marker}-absent`).read(), /no process has/)
})

test('the exposition parser keeps each series of the named metrics with its labels, and skips the rest', () => {
  const text = [
    '# HELP vllm:num_requests_waiting Requests waiting',
    '# TYPE vllm:num_requests_waiting gauge',
    'vllm:num_requests_waiting{model_name="m{1}",engine="0"} 7',
    'vllm:gpu_cache_usage_perc{model_name="m"} 0.42 1732400000000',
    'process_resident_memory_bytes 1.2345e+08',
    'other_metric 3',
    'le_histogram_bucket{le="+Inf"} +Inf',
  ].join('\n')
  assert.deepEqual(parseExposition(text, ['vllm:num_requests_waiting', 'vllm:gpu_cache_usage_perc', 'process_resident_memory_bytes', 'le_histogram_bucket']), {
    'vllm:num_requests_waiting{model_name="m{1}",engine="0"}': 7,
    'vllm:gpu_cache_usage_perc{model_name="m"}': 0.42,
    process_resident_memory_bytes: 123_450_000,
    'le_histogram_bucket{le="+Inf"}': Infinity,
  })
})

test('a Prometheus endpoint that goes down is reported down and then up, and the other targets are sampled all along', async () => {
  const body = { text: 'queue_depth 3\nprocess_resident_memory_bytes 1000\n' }
  const server = createServer((_req, res) => res.end(body.text))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const rows: ResourceSample[] = []
  const events: TargetEvent[] = []
  const sampler = new ResourceSampler('prom', [prometheusProbe('model-server', `http://127.0.0.1:${port}/metrics`, ['queue_depth', 'process_resident_memory_bytes'], 1000), pidProbe('self', process.pid)], 1000, (r) => rows.push(r), (e) => events.push(e))
  await sampler.sampleOnce()
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
  await sampler.sampleOnce()
  await sampler.sampleOnce()
  body.text = 'queue_depth 9\n'
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  await sampler.sampleOnce()
  server.closeAllConnections()
  server.close()
  assert.deepEqual(events.map((e) => [e.target, e.state]), [['model-server', 'down'], ['model-server', 'up']])
  assert.match(events[0]!.reason, /ECONNREFUSED|fetch failed/)
  const of = (target: string, metric: string) => rows.filter((r) => r.target === target && r.metric === metric).map((r) => r.value)
  assert.deepEqual(of('model-server', 'queue_depth'), [3, 9])
  assert.deepEqual(of('model-server', 'up'), [1, 0, 0, 1])
  assert.equal(of('self', 'rss_bytes').length, 4)
})

test('a simulator service\'s own /metrics is sampled as a Prometheus target', async () => {
  const sim = await simulate({ services: [{ name: 'llm', kind: 'llm', process: 'separate' }] })
  try {
    const values = await prometheusProbe('llm', `${sim.services[0]!.url}/metrics`, ['hopwatch_sim_in_flight', 'process_resident_memory_bytes'], 2000).read()
    assert.ok((values?.['process_resident_memory_bytes{service="llm",kind="llm"}'] ?? 0) > 10 * MIB, JSON.stringify(values))
    assert.equal(values?.['hopwatch_sim_in_flight{service="llm",kind="llm"}'], 0)
  } finally {
    await sim.close()
  }
})

test('the loopback interface\'s byte counters grow with traffic over it', async () => {
  const probe = networkProbe('lo', 'lo')
  const before = await probe.read()
  const server = createServer((_req, res) => res.end(Buffer.alloc(4 * MIB)))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)).arrayBuffer()
  server.close()
  const after = await probe.read()
  assert.ok((after?.tx_bytes ?? 0) - (before?.tx_bytes ?? 0) >= 4 * MIB)
  await assert.rejects(networkProbe('x', 'nosuchif0').read(), /no interface nosuchif0/)
})

/** This process's memory cgroup: cgroup v2's unified directory, or v1's memory hierarchy. */
function ownMemoryCgroup(): { dir: string; version: 1 | 2 } | undefined {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n')
  const v2 = lines.find((l) => l.startsWith('0::'))?.slice(3)
  if (v2 !== undefined && existsSync(`/sys/fs/cgroup${v2}/memory.current`)) return { dir: `/sys/fs/cgroup${v2}`.replace(/\/$/, ''), version: 2 }
  const v1 = lines.find((l) => /^\d+:memory:/.test(l))?.split(':')[2]
  if (v1 !== undefined && existsSync(`/sys/fs/cgroup/memory${v1}/memory.usage_in_bytes`)) return { dir: `/sys/fs/cgroup/memory${v1}`.replace(/\/$/, ''), version: 1 }
  return undefined
}

/**
 * A new memory cgroup below this process's own, for one test process alone: the test runner's cgroup holds every
 * concurrent test process and their page cache, whose memory comes and goes (and a cgroup at its limit reclaims
 * cache as fast as a process allocates), so a growth measured there is noise. A reason when none can be made.
 */
function isolatedMemoryCgroup(own: NonNullable<ReturnType<typeof ownMemoryCgroup>>): { dir: string; remove: () => void } | string {
  const dir = `${own.dir}/hopwatch-probe-test-${process.pid}`
  try {
    mkdirSync(dir)
  } catch (err) {
    return `cannot make a cgroup below ${own.dir}: ${(err as NodeJS.ErrnoException).code}`
  }
  const remove = () => rmdirSync(dir)
  if (own.version === 2 && !existsSync(`${dir}/memory.current`)) {
    remove()
    return `${own.dir} does not give its children the memory controller (cgroup.subtree_control)`
  }
  return { dir, remove }
}

/**
 * Runs `script` (node -e, reading its stdin) in a memory cgroup of its own, and hands `body` the child and a probe of
 * that cgroup. Where no cgroup can be made it skips with the reason, except as root on cgroup v1, where one always
 * can: there, not making one is a failure.
 */
async function inIsolatedCgroup(t: TestContext, script: string, body: (child: ChildProcessByStdio<Writable, Readable, null>, probe: Probe) => Promise<void>): Promise<void> {
  const own = ownMemoryCgroup()
  if (own === undefined) return t.skip('this machine exposes no memory cgroup for this process')
  const cgroup = isolatedMemoryCgroup(own)
  if (typeof cgroup === 'string') {
    assert.ok(!(process.getuid?.() === 0 && own.version === 1), cgroup)
    return t.skip(cgroup)
  }
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] })
  try {
    await new Promise((r) => child.once('spawn', r))
    writeFileSync(`${cgroup.dir}/cgroup.procs`, String(child.pid))
    await body(child, cgroupProbe('isolated', cgroup.dir))
  } finally {
    child.kill()
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit')
    cgroup.remove()
  }
}

test('a cgroup\'s memory grows by what a process in it allocates', async (t) => {
  await inIsolatedCgroup(t, "let held; process.stdin.once('data', (d) => { held = Buffer.alloc(Number(d) * 1048576, 1); process.stdout.write('held ' + held.length) })", async (child, probe) => {
    const before = (await probe.read())?.memory_bytes ?? 0
    child.stdin.write('256')
    const [reply] = await once(child.stdout, 'data') as [Buffer]
    assert.equal(reply.toString(), `held ${256 * MIB}`)
    const growth = ((await probe.read())?.memory_bytes ?? 0) - before
    // the pages written, and not much else (the child's heap and code it runs meanwhile)
    assert.ok(growth >= 256 * MIB && growth < 288 * MIB, `${(growth / MIB).toFixed(1)} MiB more after writing 256 MiB`)
  })
  await assert.rejects(cgroupProbe('x', '/tmp').read(), /not a cgroup directory/)
})

test('a cgroup\'s memory is its working set, v2 and v1 alike: the usage less the inactive file pages, as Kubernetes counts it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hopwatch-cgroup-files-'))
  try {
    mkdirSync(join(dir, 'v2'))
    writeFileSync(join(dir, 'v2', 'memory.current'), `${300 * MIB}\n`)
    writeFileSync(join(dir, 'v2', 'memory.stat'), `anon ${100 * MIB}\nfile ${200 * MIB}\nactive_file ${40 * MIB}\ninactive_file ${160 * MIB}\n`)
    writeFileSync(join(dir, 'v2', 'memory.max'), `${512 * MIB}\n`)
    const v2 = await cgroupProbe('v2', join(dir, 'v2')).read()
    assert.deepEqual([v2?.memory_bytes, v2?.memory_usage_bytes], [140 * MIB, 300 * MIB])
    mkdirSync(join(dir, 'v1'))
    writeFileSync(join(dir, 'v1', 'memory.usage_in_bytes'), `${300 * MIB}\n`)
    // v1 gives the cgroup's own pages and, as total_, those of its children too; the usage counts the children
    writeFileSync(join(dir, 'v1', 'memory.stat'), `cache ${200 * MIB}\ninactive_file ${10 * MIB}\ntotal_inactive_file ${160 * MIB}\n`)
    const v1 = await cgroupProbe('v1', join(dir, 'v1')).read()
    assert.deepEqual([v1?.memory_bytes, v1?.memory_usage_bytes], [140 * MIB, 300 * MIB])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a cgroup\'s working set leaves out the page cache of a file its process writes; its usage counts it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hopwatch-cache-'))
  try {
    // a service writing its logs: 256 MiB through the page cache, held by the kernel, not by the process
    await inIsolatedCgroup(t, "const fs = require('node:fs'); process.stdin.once('data', (d) => { const fd = fs.openSync(String(d), 'w'); const mib = Buffer.alloc(1048576, 7); for (let i = 0; i < 256; i++) fs.writeSync(fd, mib); fs.closeSync(fd); process.stdout.write('written') })", async (child, probe) => {
      const before = (await probe.read()) ?? {}
      child.stdin.write(join(dir, 'log'))
      const [reply] = await once(child.stdout, 'data') as [Buffer]
      assert.equal(reply.toString(), 'written')
      const after = (await probe.read()) ?? {}
      const usage = (after.memory_usage_bytes ?? 0) - (before.memory_usage_bytes ?? 0)
      const workingSet = (after.memory_bytes ?? 0) - (before.memory_bytes ?? 0)
      t.diagnostic(`usage ${(usage / MIB).toFixed(1)} MiB more, working set ${(workingSet / MIB).toFixed(1)} MiB more`)
      assert.ok(usage >= 200 * MIB, `usage ${(usage / MIB).toFixed(1)} MiB more after writing a 256 MiB file`)
      assert.ok(workingSet < 64 * MIB, `working set ${(workingSet / MIB).toFixed(1)} MiB more after writing a 256 MiB file`)
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('nvidia-smi\'s CSV becomes per-GPU utilisation and memory, and a machine without it is reported once', async () => {
  assert.deepEqual(parseNvidiaSmi('0, 87, 30512, 81559\n1, [N/A], 0, 81559\n'), {
    gpu0_utilization_percent: 87,
    gpu0_memory_bytes: 30512 * MIB,
    gpu0_memory_limit_bytes: 81559 * MIB,
    gpu1_memory_bytes: 0,
    gpu1_memory_limit_bytes: 81559 * MIB,
  })
  const events: TargetEvent[] = []
  const sampler = new ResourceSampler('gpu', [nvidiaProbe('gpu', 'hopwatch-no-such-nvidia-smi')], 1000, () => {}, (e) => events.push(e))
  await sampler.sampleOnce()
  await sampler.sampleOnce()
  assert.deepEqual(events.map((e) => [e.target, e.state, e.reason]), [['gpu', 'gone', 'nvidia-smi is not on this machine']])
})

test('a process removed while a sample was reading it, as a worker told to stop, is not reported gone', async () => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
  await once(child, 'spawn')
  const real = pidProbe('worker', child.pid as number)
  const events: TargetEvent[] = []
  const rows: ResourceSample[] = []
  let sampler: ResourceSampler
  // the worker exits and is removed (as the proxy's pool does when it stops it) while its read is under way
  const probe: Probe = {
    ...real,
    read: async () => {
      child.kill('SIGKILL')
      await once(child, 'exit')
      sampler.remove('worker')
      return real.read()
    },
  }
  sampler = new ResourceSampler('removed', [probe, pidProbe('self', process.pid)], 60_000, (r) => rows.push(r), (e) => events.push(e))
  await sampler.sampleOnce()
  assert.deepEqual(events, [], 'no event: the worker ended as expected')
  assert.deepEqual(sampler.targets, ['self'])
  assert.ok(rows.some((r) => r.target === 'self' && r.metric === 'up'), 'the other targets are sampled on')
})
