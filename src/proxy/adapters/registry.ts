import { deepgramAdapter } from './deepgram.js'
import { elevenlabsAdapter } from './elevenlabs.js'
import { httpAdapter } from './http.js'
import { openaiRealtimeAdapter } from './openai-realtime.js'
import { openaiAdapter } from './openai.js'
import type { Adapter } from './types.js'

/** Every adapter by name; the config's `adapter:` picks one. A new provider adds one line here. */
export const ADAPTERS: ReadonlyMap<string, Adapter> = new Map(
  [httpAdapter, openaiAdapter, deepgramAdapter, elevenlabsAdapter, openaiRealtimeAdapter].map((a) => [a.name, a]),
)

export const ADAPTER_NAMES: readonly string[] = [...ADAPTERS.keys()]

export function adapterNamed(name: string): Adapter {
  const adapter = ADAPTERS.get(name)
  if (adapter === undefined) throw new Error(`unknown adapter ${name}; known: ${ADAPTER_NAMES.join(', ')}`)
  return adapter
}
