import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parseAllDocuments } from 'yaml'

const run = promisify(execFile)
export const CHART_DIR = fileURLToPath(new URL('../../../helm/hopwatch', import.meta.url))
const SOURCE = fileURLToPath(new URL('../../../test/support/helm-render', import.meta.url))
const CACHE = fileURLToPath(new URL('../../../node_modules/.cache/hopwatch-helm-render', import.meta.url))
/** Debian's Go and the sources its -dev packages install (scripts/ensure-test-deps.mjs installs them). */
export const GO_BIN = process.env.HOPWATCH_GO ?? '/usr/bin/go'
const GOPATH = '/usr/share/gocode'

let built: Promise<string> | undefined

/** Builds test/support/helm-render (Go text/template + sprig, as Helm renders) once per process; its path. */
export function helmRenderer(): Promise<string> {
  built ??= (async () => {
    if (!existsSync(GO_BIN)) throw new Error(`${GO_BIN} is missing: run \`node scripts/ensure-test-deps.mjs\` (as root) or \`npm test\`, which installs Debian's golang-go and golang-github-masterminds-sprig-dev`)
    await mkdir(CACHE, { recursive: true })
    const bin = join(CACHE, 'helm-render')
    // GOPATH mode over Debian's packaged sources: no module download, no network. Debian installs sprig and semver
    // at their unversioned paths; their /v3 import paths are symlinks in a GOPATH of our own, searched first
    const overlay = join(CACHE, 'gopath')
    for (const pkg of ['github.com/Masterminds/sprig', 'github.com/Masterminds/semver']) {
      const link = join(overlay, 'src', pkg, 'v3')
      await mkdir(join(overlay, 'src', pkg), { recursive: true })
      if (!existsSync(link)) await symlink(join(GOPATH, 'src', pkg), link)
    }
    const env = { ...process.env, GOPATH: `${overlay}:${GOPATH}`, GO111MODULE: 'off', GOFLAGS: '', GOCACHE: join(CACHE, 'go-build'), GOPROXY: 'off', CGO_ENABLED: '0' }
    await run(GO_BIN, ['build', '-o', bin, '.'], { cwd: SOURCE, env })
    return bin
  })()
  return built
}

export interface Rendered {
  /** every Kubernetes object, with the template it came from */
  objects: Array<{ source: string; object: Record<string, unknown> }>
  notes: string
}

/** `helm template RELEASE helm/hopwatch` with these values over values.yaml. */
export async function renderChart(overrides: object, release = 'test'): Promise<Rendered> {
  const bin = await helmRenderer()
  const dir = await mkdtemp(join(tmpdir(), 'hopwatch-helm-'))
  try {
    await writeFile(join(dir, 'values.json'), JSON.stringify(overrides))
    const { stdout } = await run(bin, [CHART_DIR, join(dir, 'values.json'), release], { maxBuffer: 64 * 1024 * 1024 })
    const [manifests = '', notes = ''] = stdout.split('# Source: templates/NOTES.txt\n')
    const objects: Rendered['objects'] = []
    for (const part of manifests.split(/^# Source: /m).filter((p) => p.trim() !== '')) {
      const source = part.slice(0, part.indexOf('\n'))
      for (const doc of parseAllDocuments(part.slice(part.indexOf('\n') + 1))) {
        if (doc.errors.length > 0) throw new Error(`${source} is not valid YAML: ${doc.errors[0]?.message}\n${part}`)
        const object = doc.toJS() as Record<string, unknown> | null
        if (object !== null && object !== undefined) objects.push({ source, object })
      }
    }
    return { objects, notes }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
