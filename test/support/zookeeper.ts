import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'

/** Debian's zookeeper package's jar (its manifest names the libraries it needs); scripts/ensure-test-deps.mjs installs it. */
export const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar'

/** A standalone ZooKeeper (Debian's 3.8) on a free 127.0.0.1 port, its data in a temp dir: what replicated ClickHouse needs. */
export class ZooKeeperServer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  static async start(): Promise<ZooKeeperServer> {
    if (!existsSync(ZOOKEEPER_JAR)) throw new Error(`${ZOOKEEPER_JAR} is missing: run \`node scripts/ensure-test-deps.mjs\` (as root) or \`npm test\`, which installs Debian's zookeeper`)
    const dir = await mkdtemp(join(tmpdir(), 'hopwatch-zk-'))
    const port = await freePort()
    await mkdir(join(dir, 'data'))
    await writeFile(
      join(dir, 'zoo.cfg'),
      [`tickTime=500`, `dataDir=${dir}/data`, `clientPort=${port}`, `clientPortAddress=127.0.0.1`, 'admin.enableServer=false', 'maxClientCnxns=0', '4lw.commands.whitelist=ruok', ''].join('\n'),
    )
    const child = spawn('java', ['-Xmx256m', '-cp', `${dir}:${ZOOKEEPER_JAR}`, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', join(dir, 'zoo.cfg')], { stdio: 'ignore' })
    const server = new ZooKeeperServer(dir, port, child)
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`zookeeper exited with ${child.exitCode}`)
      // a session, not only `ruok`: a ClickHouse 18.16 that cannot start its ZooKeeper session at boot crashes
      if ((await ruok(port)) === 'imok' && (await session(port))) return server
      await new Promise((r) => setTimeout(r, 200))
    }
    await server.destroy()
    throw new Error(`zookeeper did not answer on 127.0.0.1:${port} within 30 s`)
  }

  async destroy(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r))
      this.child.kill('SIGKILL')
      await exited
    }
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** ZooKeeper's four-letter `ruok`: `imok` when it serves. */
function ruok(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.end('ruok'))
    socket.setTimeout(5000, () => socket.destroy())
    let answer = ''
    socket.on('data', (d: Buffer) => (answer += d.toString()))
    socket.on('close', () => resolve(answer))
    socket.on('error', () => resolve(''))
  })
}

/** Whether ZooKeeper grants a session: a ConnectRequest (protocol 0, a 10 s timeout) answered by a ConnectResponse. */
function session(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = Buffer.alloc(4 + 4 + 8 + 4 + 8 + 4 + 16 + 1)
    request.writeInt32BE(request.length - 4, 0)
    request.writeInt32BE(10_000, 16) // after the length, the protocol version and the last zxid seen
    request.writeInt32BE(16, 28) // after the timeout and the session id: the password's length (16 zero bytes)
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    let answer = Buffer.alloc(0)
    socket.setTimeout(5000, () => socket.destroy())
    socket.on('data', (d: Buffer) => {
      answer = Buffer.concat([answer, d])
      if (answer.length >= 4 + 36) socket.end()
    })
    socket.on('close', () => resolve(answer.length >= 4 + 36 && answer.readBigInt64BE(12) !== 0n))
    socket.on('error', () => resolve(false))
  })
}
