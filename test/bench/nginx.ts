/**
 * nginx as the benchmark's yardstick: Debian's nginx (installed with apt-get when missing, as root), our own config
 * on a loopback port, a reverse proxy to the same upstream with an access log of the request and upstream times —
 * what an SRE would use instead of hopwatch to time hops — and proxy_buffering off, so SSE streams pass as they come.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { familyCpuSeconds, familyRssBytes } from './proc.js'

const NGINX = process.env.HOPWATCH_NGINX ?? '/usr/sbin/nginx'

/** Installs Debian's nginx when it is missing (as root; otherwise says how). */
export function ensureNginx(): void {
  if (existsSync(NGINX)) return
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
  if (!isRoot) throw new Error(`the benchmark compares with nginx: install it (sudo apt-get install -y nginx-light) or set HOPWATCH_NGINX`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env })
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'nginx-light'], { stdio: 'inherit', env })
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  await new Promise((r) => server.close(r))
  return port
}

export interface RunningNginx {
  url: string
  /** the master's pid (its workers are its children) */
  pid: number
  /** CPU seconds of the master and its workers so far */
  cpuSeconds(): Promise<number>
  /** resident memory of the master and its workers, bytes */
  rssBytes(): Promise<number>
  /** lines in the access log (one per request) */
  logLines(): Promise<number>
  stop(): Promise<void>
}

export async function startNginx(dir: string, upstreamPort: number, workers: number): Promise<RunningNginx> {
  ensureNginx()
  await mkdir(join(dir, 'tmp'), { recursive: true })
  const port = await freePort()
  const conf = join(dir, 'nginx.conf')
  await writeFile(
    conf,
    `worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${typeof process.getuid === 'function' && process.getuid() === 0 ? 'user root;' : ''}
events { worker_connections 8192; }
http {
  log_format timed '$remote_addr [$time_local] "$request" $status $body_bytes_sent rt=$request_time urt=$upstream_response_time uct=$upstream_connect_time uht=$upstream_header_time';
  access_log ${dir}/access.log timed;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_requests 1000000;
  upstream up { server 127.0.0.1:${upstreamPort}; keepalive 1024; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`,
  )
  const proc: ChildProcess = spawn(NGINX, ['-c', conf, '-p', dir, '-g', 'daemon off;'], { stdio: ['ignore', 'inherit', 'inherit'] })
  // ready when it answers
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    const up = await fetch(url).then(() => true, () => false)
    if (up) break
    if (proc.exitCode !== null) throw new Error(`nginx exited with ${proc.exitCode}; see ${dir}/error.log`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const master = proc.pid as number
  return {
    url,
    pid: master,
    cpuSeconds: () => familyCpuSeconds(master),
    rssBytes: () => familyRssBytes(master),
    async logLines() {
      const text = await readFile(join(dir, 'access.log'), 'utf8').catch(() => '')
      return text === '' ? 0 : text.split('\n').length - 1
    },
    async stop() {
      proc.kill('SIGQUIT')
      await new Promise((r) => proc.once('exit', r))
    },
  }
}
