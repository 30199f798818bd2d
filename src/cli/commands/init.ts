import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { SERVICE_KINDS, type SimEndpoint } from '../../sim/index.js'
import { CliError } from '../errors.js'
import { parseFlags, stringFlag } from '../args.js'
import { simUpstreams } from './run.js'

export const usage = `Usage: hopwatch init [FILE] [--from-sim URLS.json] [--force]

Writes a commented hopwatch.yaml (or FILE) to start from: a cascaded voice stack of STT, LLM, TTS and a backend API.

  --from-sim FILE   instead, a working config for the simulator that wrote FILE (hopwatch sim --urls-out FILE):
                    one upstream per service, each on a prefix of the proxy's port 8787 (/stt, /llm, …)
  --force           overwrite FILE when it exists

Examples:
  hopwatch init
  hopwatch sim --preset default --port 9100 --urls-out sim.json &  hopwatch init --from-sim sim.json && hopwatch proxy

Exit codes: 0 written; 1 the file exists (without --force) or cannot be written; 2 bad flags or URLs file.`

export const EXAMPLE_CONFIG = `# hopwatch.yaml: what the proxy fronts and where hops are stored. Every key is optional but upstreams.
run:
  name: staging voice agent          # a label for the run; hops whose callers name none go to it

proxy:
  host: 127.0.0.1                    # 0.0.0.0 to serve other hosts (a Kubernetes sidecar or Service)
  port: 8787                         # /healthz, /metrics, /_hopwatch/sql and the prefixed upstreams
  max_body_bytes: 26214400           # 25 MiB: larger request bodies get a 413
  max_frame_bytes: 16777216          # 16 MiB: larger WebSocket messages close the connection (1009)
  timeouts: { connect_ms: 10000, headers_ms: 120000, idle_ms: 120000 }

upstreams:                           # the proxy forwards only to these
  - name: stt
    component: stt                   # stt | llm | tts | s2s | backend | router
    adapter: deepgram                # http | openai | deepgram | elevenlabs | openai-realtime
    target: https://api.deepgram.com
    prefix: /stt                     # callers use http://127.0.0.1:8787/stt/v1/listen
  - name: openai
    component: llm                   # for routes the adapter does not know; chat and responses are llm,
    adapter: openai                  # /audio/speech tts, /audio/transcriptions stt, /realtime s2s
    target: https://api.openai.com/v1
    port: 8788                       # a port of its own: the SDK's base URL becomes http://127.0.0.1:8788
    # routes: [{ path: /embeddings, component: backend }]   # a path ending's component, over the adapter's
  - name: tts
    component: tts
    adapter: elevenlabs
    target: https://api.elevenlabs.io
    prefix: /tts
  - name: booking-api
    component: backend
    adapter: http
    target: http://127.0.0.1:9000
    prefix: /api
    timeouts: { headers_ms: 5000 }   # per-upstream override

store:
  dir: ./.hopwatch                   # embedded ClickHouse; or use a server:
  # clickhouse: { url: http://127.0.0.1:8123, user: default }   # password: HOPWATCH_CLICKHOUSE_PASSWORD

resources:                           # sampled into resource_samples while the proxy (or a run) goes on
  interval_s: 5
  self: true                         # hopwatch's own process: the proxy and the generator must not leak
  targets:
    - { name: agent, process: { match: "node agent.js" }, memory_limit_mb: 2048 }
    # - { name: agent-pod, cgroup: /sys/fs/cgroup/kubepods.slice/... }             # memory.current, cpu.stat
    # - { name: vllm, prometheus: { url: http://127.0.0.1:8000/metrics, metrics: [vllm:num_requests_waiting, process_resident_memory_bytes] } }
    # - { name: gpu, nvidia_smi: true }
    # - { name: eth0, network: { interface: eth0 } }

alerts:                              # live rules over sliding windows: pending → firing → resolved
  window_s: 60                       # latency, error and success rules look at the last minute
  for_s: 30                          # a condition holds this long before it fires
  repeat_s: 3600                     # a firing alert is notified again after an hour
  rules:
    component_p95_ms: { stt: 800, llm: 1500, tts: 600 }
    error_rate_max: 0.05
    success_min: 0.95
    memory_slope_mb_per_h: 50
  sinks:
    log: true
    # webhooks: [http://127.0.0.1:9000/hooks/hopwatch]
    # alertmanagers: [http://127.0.0.1:9093]                 # POST /api/v2/alerts

telemetry:
  otlp:                              # a trace per turn to an OpenTelemetry collector (off without an endpoint)
    # endpoint: http://127.0.0.1:4318   # or OTEL_EXPORTER_OTLP_ENDPOINT; see otel-config/
  receiver:                          # POST /v1/traces on the proxy: the agent's own spans (Pipecat, LiveKit)
    enabled: true
    keep_content: false              # prompts, transcripts and answers in span attributes are not stored
`

/** The services a simulator's --urls-out file lists, or a usage error saying what is wrong with it. */
async function simServices(path: string): Promise<SimEndpoint[]> {
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new CliError('HW_CLI_USAGE', `--from-sim ${path}: ${(err as Error).message}; give the file hopwatch sim --urls-out wrote`)
  }
  const services = (parsed as { services?: unknown } | null)?.services
  const valid = (s: unknown): s is SimEndpoint => {
    const e = s as Partial<SimEndpoint> | null
    return typeof e?.name === 'string' && /^[a-z][a-z0-9_-]{0,62}$/.test(e.name) && typeof e.url === 'string' && /^http:\/\/[^/]+$/.test(e.url) && (SERVICE_KINDS as readonly string[]).includes(e.kind ?? '')
  }
  if (!Array.isArray(services) || services.length === 0 || !services.every(valid)) {
    throw new CliError('HW_CLI_USAGE', `--from-sim ${path} does not list services as hopwatch sim --urls-out writes them ({"services": [{"name", "kind", "url"}, …]})`)
  }
  return services
}

/** A config whose upstreams are the simulator's services. */
function configForSim(services: readonly SimEndpoint[], from: string): string {
  const upstreams = simUpstreams(services).map((u) => `  - { name: ${u.name}, component: ${u.component}, adapter: ${u.adapter}, target: "${u.target}", prefix: ${u.prefix} }`)
  return `# hopwatch.yaml for the simulator of ${from} (hopwatch init --from-sim): callers use http://127.0.0.1:8787/<name>
proxy:
  port: 8787
upstreams:
${upstreams.join('\n')}
store:
  dir: ./.hopwatch
`
}

/** `hopwatch init` */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { force: { type: 'boolean' }, 'from-sim': { type: 'string' } }, 'init')
  if (values.help === true) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const path = stringFlag(positionals[0]) ?? 'hopwatch.yaml'
  const fromSim = stringFlag(values['from-sim'])
  const text = fromSim === undefined ? EXAMPLE_CONFIG : configForSim(await simServices(fromSim), fromSim)
  if (existsSync(path) && values.force !== true) throw new CliError('HW_CLI_EXISTS', `${path} already exists; pass --force to overwrite it`)
  await writeFile(path, text)
  process.stdout.write(fromSim === undefined ? `wrote ${path}: edit the upstreams' targets, then run \`hopwatch proxy\`\n` : `wrote ${path} for the simulator's services: run \`hopwatch proxy\`\n`)
  return 0
}
