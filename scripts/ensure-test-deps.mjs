#!/usr/bin/env node
// Installs what the tests need from Debian's packages when it is missing: the real ClickHouse server the store tests
// start (clickhouse-server, an 18.x release), promtool (prometheus) for the generated alert rules, and Alertmanager
// (prometheus-alertmanager) for the live alerts, chromium, in which the HTML report is opened, Go with the sprig
// and yaml sources, from which the Helm chart's renderer is built, and ZooKeeper (with the JRE it depends on) for the
// replicated ClickHouse cluster. The tests start their own servers on free ports and stop them;
// Debian's packages do not start their daemons here (no init system), and nothing else is started.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const needed = [
  { pkg: 'clickhouse-server', path: process.env.HOPWATCH_CLICKHOUSE_SERVER ?? '/usr/sbin/clickhouse-server' },
  { pkg: 'prometheus', path: process.env.HOPWATCH_PROMTOOL ?? '/usr/bin/promtool' },
  { pkg: 'prometheus-alertmanager', path: process.env.HOPWATCH_ALERTMANAGER ?? '/usr/bin/prometheus-alertmanager' },
  { pkg: 'chromium', path: process.env.HOPWATCH_CHROMIUM ?? '/usr/bin/chromium' },
  // the Helm chart's renderer (test/support/helm-render): Go's text/template with sprig, as Helm renders
  { pkg: 'golang-go', path: process.env.HOPWATCH_GO ?? '/usr/bin/go' },
  { pkg: 'golang-github-masterminds-sprig-dev', path: '/usr/share/gocode/src/github.com/Masterminds/sprig' },
  { pkg: 'golang-gopkg-yaml.v3-dev', path: '/usr/share/gocode/src/gopkg.in/yaml.v3' },
  // ReplicatedMergeTree and ON CLUSTER DDL (test/store/replicated.test.ts); the tests start it themselves
  { pkg: 'zookeeper', path: '/usr/share/java/zookeeper.jar' },
]
const missing = needed.filter((n) => !existsSync(n.path))
if (missing.length === 0) process.exit(0)

const names = missing.map((m) => m.pkg)
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
if (!isRoot || !existsSync('/usr/bin/apt-get')) {
  console.error(`hopwatch tests need Debian packages: ${names.join(' ')}.\nInstall them (sudo apt-get update && sudo apt-get install -y ${names.join(' ')}) and run npm test again.`)
  process.exit(1)
}
console.log(`installing ${names.join(' ')} (apt-get)…`)
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
execFileSync('apt-get', ['update'], { stdio: 'inherit', env })
execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...names], { stdio: 'inherit', env })
for (const m of missing) {
  if (!existsSync(m.path)) {
    console.error(`${m.pkg} installed but ${m.path} is missing`)
    process.exit(1)
  }
}
