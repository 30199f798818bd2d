import { rename, writeFile } from 'node:fs/promises'
import { loadSimConfigFile, PRESET_NAMES, presetConfig, startSim, type SimConfig } from '../../sim/index.js'
import { CliError } from '../errors.js'
import { intFlag, parseFlags, stringFlag } from '../args.js'
import { table } from '../output.js'
import { VERSION } from '../version.js'

export const usage = `Usage: hopwatch sim (--config sim.yaml | --preset NAME) [--port BASE] [--urls-out FILE] [--seed N]

Starts simulated STT, LLM, TTS, S2S and backend services on 127.0.0.1 that speak the providers' wire formats
(OpenAI, Deepgram, ElevenLabs, OpenAI Realtime, a REST API), each with a capacity model (workers, queue,
service times) and planted faults. Stops on SIGINT/SIGTERM.

  --config FILE     the simulator config (see the README's "Simulator config")
  --preset NAME     a built-in stack instead: ${PRESET_NAMES.join(', ')}
  --port BASE       fixed ports: the config's services in order on BASE, BASE+1, … (preset default: stt BASE,
                    llm +1, tts +2, s2s +3, backend +4); without it, any free ports
  --urls-out FILE   also write {"services": [{name, kind, url, pid, process}]} as JSON to FILE (for hopwatch init --from-sim)
  --seed N          override the config's seed

Every service answers GET /metrics (queue depth, in flight, outcomes, RSS) and GET /healthz.

Examples:
  hopwatch sim --preset default --port 9100
  hopwatch sim --config sim.yaml --urls-out sim.json --seed 7

Exit codes: 0 stopped cleanly; 1 a service could not start (HW_SIM_LISTEN); 2 bad flags, config or preset.`

const FLAGS = { config: { type: 'string' }, preset: { type: 'string' }, port: { type: 'string' }, 'urls-out': { type: 'string' }, seed: { type: 'string' } } as const

/** `hopwatch sim` */
export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS, 'sim')
  if (values.help === true) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const configPath = stringFlag(values.config)
  const preset = stringFlag(values.preset)
  if ((configPath === undefined) === (preset === undefined)) throw new CliError('HW_CLI_USAGE', 'give exactly one of --config FILE or --preset NAME (hopwatch sim --help)')
  let config: SimConfig = configPath !== undefined ? await loadSimConfigFile(configPath) : presetConfig(preset as string)
  const seed = intFlag(values.seed, 'seed')
  if (seed !== undefined) config = { ...config, seed }
  const base = intFlag(values.port, 'port')
  if (base !== undefined) {
    if (base < 1 || base + config.services.length - 1 > 65535) throw new CliError('HW_CLI_USAGE', `--port ${base}: the ${config.services.length} services need ports ${base} to ${base + config.services.length - 1}, within 1 to 65535`)
    config = { ...config, services: config.services.map((s, i) => ({ ...s, port: base + i })) }
  }

  // listen for the stop signal before anything starts, so a signal during start-up still stops cleanly
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  const sim = await startSim(config)
  process.stdout.write(`hopwatch sim ${VERSION}: ${configPath ?? `preset ${preset}`}, seed ${config.seed}\n`)
  process.stdout.write(
    table(
      ['service', 'kind', 'url', 'process', 'workers', 'queue'],
      sim.services.map((s) => {
        const c = config.services.find((x) => x.name === s.name)
        return [s.name, s.kind, s.url, `${s.process} (pid ${s.pid})`, String(c?.workers ?? ''), String(c?.queue ?? '')]
      }),
    ),
  )
  const urlsOut = stringFlag(values['urls-out'])
  if (urlsOut !== undefined) {
    // written whole, then renamed: a reader never sees half a file
    await writeFile(`${urlsOut}.tmp`, `${JSON.stringify({ seed: config.seed, services: sim.services }, null, 2)}\n`)
    await rename(`${urlsOut}.tmp`, urlsOut)
  }
  process.stdout.write('hopwatch sim: ready (Ctrl-C to stop)\n')
  await stopped
  process.stdout.write('hopwatch sim: stopping\n')
  await sim.close()
  return 0
}
