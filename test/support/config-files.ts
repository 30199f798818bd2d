/**
 * hopwatch.yaml for a proxy in front of the simulator's STT, LLM, TTS and backend, each on a prefix (as `hopwatch
 * init --from-sim` writes it), with the given `store:` section (YAML flow) and the alert log quiet.
 */
export function simStackConfig(url: (kind: string) => string, store: string): string {
  return `proxy: { port: 0 }
upstreams:
  - { name: stt, component: stt, adapter: deepgram, target: "${url('stt')}", prefix: /stt }
  - { name: llm, component: llm, adapter: openai, target: "${url('llm')}/v1", prefix: /llm }
  - { name: tts, component: tts, adapter: openai, target: "${url('tts')}/v1", prefix: /tts }
  - { name: api, component: backend, target: "${url('backend')}", prefix: /api }
store: ${store}
alerts: { sinks: { log: false } }
`
}
