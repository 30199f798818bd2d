import { startSim, validateSimConfig, type RunningSim } from '../../src/sim/index.js'

/** Starts a simulator from an inline config (as YAML would give it), validated the way `hopwatch sim` validates. */
export async function simulate(config: Record<string, unknown>): Promise<RunningSim & { url(name: string): string }> {
  const sim = await startSim(validateSimConfig(config, 'test sim config'))
  return {
    ...sim,
    url(name) {
      const service = sim.services.find((s) => s.name === name)
      if (service === undefined) throw new Error(`no simulated service ${name}`)
      return service.url
    },
  }
}
