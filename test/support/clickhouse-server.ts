import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'

/** Where Debian's clickhouse-server package puts the server binary (scripts/ensure-test-deps.mjs installs it). */
export const CLICKHOUSE_SERVER_BIN = process.env.HOPWATCH_CLICKHOUSE_SERVER ?? '/usr/sbin/clickhouse-server'

/**
 * A real ClickHouse server (Debian's 18.x package) on free 127.0.0.1 ports with its config and data in a temp dir.
 * stop() kills it like a crash would; start() again brings it back on the same port with the same data.
 */
export class ClickHouseServer {
  private child: ChildProcess | undefined

  private constructor(
    readonly dir: string,
    readonly httpPort: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`
  }

  static async create(): Promise<ClickHouseServer> {
    const [server] = await ClickHouseServer.prepare(1, () => '')
    await (server as ClickHouseServer).start()
    return server as ClickHouseServer
  }

  /**
   * A cluster of `shards` servers, one replica each, named `name` in every server's `remote_servers` (its nodes talk
   * over their TCP ports on 127.0.0.1). No ZooKeeper: Distributed tables work; ON CLUSTER DDL and replication do not.
   */
  static async cluster(shards: number, name: string): Promise<ClickHouseServer[]> {
    const servers = await ClickHouseServer.prepare(shards, (tcpPorts) => `  <remote_servers><${name}>${tcpPorts.map((port) => `<shard><replica><host>127.0.0.1</host><port>${port}</port></replica></shard>`).join('')}</${name}></remote_servers>\n`)
    await Promise.all(servers.map((s) => s.start()))
    return servers
  }

  /**
   * A replicated cluster: `shards` × `replicas` servers, named `name` in every server's `remote_servers` with
   * `internal_replication` (a Distributed insert writes one replica; ReplicatedMergeTree copies it), each with its
   * `{shard}` and `{replica}` macros, the ZooKeeper at `zooKeeperPort`, an interserver port for fetching parts, and
   * distributed DDL (ON CLUSTER) on.
   * Returned shard by shard, replica by replica.
   */
  static async replicated(shards: number, replicas: number, name: string, zooKeeperPort: number): Promise<ClickHouseServer[]> {
    const interserver: number[] = []
    for (let i = 0; i < shards * replicas; i++) interserver.push(await freePort())
    const servers = await ClickHouseServer.prepare(shards * replicas, (tcpPorts, i) => {
      const shard = (s: number) => tcpPorts.slice(s * replicas, (s + 1) * replicas).map((port) => `<replica><host>127.0.0.1</host><port>${port}</port></replica>`).join('')
      const layout = Array.from({ length: shards }, (_, s) => `<shard><internal_replication>true</internal_replication>${shard(s)}</shard>`).join('')
      return [
        `  <remote_servers><${name}>${layout}</${name}></remote_servers>`,
        `  <zookeeper><node><host>127.0.0.1</host><port>${zooKeeperPort}</port></node><session_timeout_ms>10000</session_timeout_ms></zookeeper>`,
        `  <macros><shard>${Math.floor(i / replicas) + 1}</shard><replica>replica-${i + 1}</replica></macros>`,
        `  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>`,
        // where the other replicas fetch this one's parts
        `  <interserver_http_host>127.0.0.1</interserver_http_host><interserver_http_port>${interserver[i]}</interserver_http_port>`,
        '',
      ].join('\n')
    })
    await Promise.all(servers.map((s) => s.start()))
    return servers
  }

  private static async prepare(count: number, extra: (tcpPorts: number[], node: number) => string): Promise<ClickHouseServer[]> {
    if (!existsSync(CLICKHOUSE_SERVER_BIN)) {
      throw new Error(`${CLICKHOUSE_SERVER_BIN} is missing: run \`node scripts/ensure-test-deps.mjs\` (as root) or \`npm test\`, which installs Debian's clickhouse-server`)
    }
    const nodes: Array<{ dir: string; http: number; tcp: number }> = []
    const taken = new Set<number>()
    const port = async () => {
      for (;;) {
        const p = await freePort()
        if (!taken.has(p)) {
          taken.add(p)
          return p
        }
      }
    }
    for (let i = 0; i < count; i++) nodes.push({ dir: await mkdtemp(join(tmpdir(), 'hopwatch-ch-')), http: await port(), tcp: await port() })
    return Promise.all(
      nodes.map(async (n, i) => {
        const more = extra(nodes.map((x) => x.tcp), i)
        await writeFile(join(n.dir, 'config.xml'), configXml(n.dir, n.http, n.tcp).replace('</yandex>', `${more}</yandex>`))
        await writeFile(join(n.dir, 'users.xml'), USERS_XML)
        return new ClickHouseServer(n.dir, n.http)
      }),
    )
  }

  async start(): Promise<void> {
    const child = spawn(CLICKHOUSE_SERVER_BIN, [`--config-file=${join(this.dir, 'config.xml')}`], { stdio: 'ignore' })
    this.child = child
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`clickhouse-server exited with ${child.exitCode}; see ${join(this.dir, 'err.log')}`)
      try {
        // bounded: a port answered by something else (or a server that hangs) must fail the start, not hang it
        const res = await fetch(`${this.url}/ping`, { signal: AbortSignal.timeout(2000) })
        if (res.ok) return
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`clickhouse-server did not answer on ${this.url} within 30 s; see ${join(this.dir, 'err.log')}`)
  }

  /** Stops the server in its tracks (SIGSTOP): connections are taken and never answered, as a hung server's are. */
  pause(): void {
    this.child?.kill('SIGSTOP')
  }

  /** Lets a paused server go on (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT')
  }

  /** Kills the server (SIGKILL, as a crash) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGCONT') // a paused server dies as well
    child.kill('SIGKILL')
    await exited
  }

  async destroy(): Promise<void> {
    await this.kill()
    await rm(this.dir, { recursive: true, force: true })
  }
}

function configXml(dir: string, httpPort: number, tcpPort: number): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/err.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>1024</max_connections>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
</yandex>
`
}

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`
