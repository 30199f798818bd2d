/**
 * Where simulated callers send each component's requests, and in which wire format. A base URL is what the
 * provider's SDK takes as its base URL: OpenAI-style ones include the version path (`…/v1`), Deepgram and ElevenLabs
 * ones are the host root. Through the proxy these are the proxy's URLs for the upstreams.
 */
export interface Targets {
  stt?: { url: string; protocol: 'deepgram-live' | 'openai-upload' }
  llm?: { url: string }
  tts?: { url: string; protocol: 'openai' | 'elevenlabs' }
  s2s?: { url: string }
  backend?: { url: string }
  /** multi-model: the router in front of several LLMs (an OpenAI-compatible base URL) */
  router?: { url: string }
}

/** Headers every request of a caller carries for a real provider: keys from the environment, never stored by the proxy. */
export interface Credentials {
  openai: string | undefined
  deepgram: string | undefined
  elevenlabs: string | undefined
}

export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): Credentials {
  return { openai: env.OPENAI_API_KEY, deepgram: env.DEEPGRAM_API_KEY, elevenlabs: env.ELEVENLABS_API_KEY }
}

interface UpstreamLike {
  name: string
  component: string
  adapter: string
}

/**
 * Targets from the proxy's upstreams: the first upstream of each component, its wire format from its adapter.
 * Returns the targets, and a problem per upstream the generator cannot speak to.
 */
export function targetsFromUpstreams(upstreams: readonly UpstreamLike[], urlOf: (name: string) => string): { targets: Targets; problems: string[] } {
  const targets: Targets = {}
  const problems: string[] = []
  for (const u of upstreams) {
    const url = urlOf(u.name)
    if (u.component === 'stt' && targets.stt === undefined) {
      if (u.adapter === 'deepgram') targets.stt = { url, protocol: 'deepgram-live' }
      else if (u.adapter === 'openai') targets.stt = { url, protocol: 'openai-upload' }
      else problems.push(`upstream ${u.name}: simulated callers speak to STT with adapter deepgram (live) or openai (upload), not ${u.adapter}`)
    } else if (u.component === 'llm' && targets.llm === undefined) {
      if (u.adapter === 'openai' || u.adapter === 'http') targets.llm = { url }
      else problems.push(`upstream ${u.name}: simulated callers speak to an LLM with the openai adapter, not ${u.adapter}`)
    } else if (u.component === 'tts' && targets.tts === undefined) {
      if (u.adapter === 'openai' || u.adapter === 'elevenlabs') targets.tts = { url, protocol: u.adapter }
      else problems.push(`upstream ${u.name}: simulated callers speak to TTS with adapter openai or elevenlabs, not ${u.adapter}`)
    } else if (u.component === 's2s' && targets.s2s === undefined) {
      targets.s2s = { url }
    } else if (u.component === 'backend' && targets.backend === undefined) {
      targets.backend = { url }
    } else if (u.component === 'router' && targets.router === undefined) {
      targets.router = { url }
    }
  }
  return { targets, problems }
}
