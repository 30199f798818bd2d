import type { ServiceKind } from './config.js'
import type { KindFactory } from './service.js'
import { backend } from './services/backend.js'
import { llm } from './services/llm.js'
import { router } from './services/router.js'
import { s2s } from './services/s2s.js'
import { stt } from './services/stt.js'
import { tts } from './services/tts.js'

/** Every simulated kind by name: adding one is a file in services/ and a line here. */
export const KINDS: Readonly<Record<ServiceKind, KindFactory>> = { stt, llm, tts, s2s, backend, router }
