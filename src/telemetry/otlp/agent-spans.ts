import { redactUrl } from '../../redact.js'
import type { Component } from '../../types.js'
import type { AttrValue, Attributes, OtlpSpan } from './decode.js'

/**
 * What an agent framework's span is, by the names and attributes the frameworks use:
 *
 * - Pipecat (`pipecat/utils/tracing`): a `conversation` span (`conversation.id`), a `turn` span per turn
 *   (`turn.number`, `conversation.id`, `turn.user_bot_latency_seconds`, `turn.user_turn_seconds`,
 *   `turn.was_interrupted`), and service spans `stt`, `llm`, `tts` under it (older releases: `stt_<service>`, …),
 *   with `gen_ai.*` and `metrics.ttfb` in seconds.
 * - LiveKit Agents (`livekit/agents/telemetry`): `agent_turn` (`lk.generation_id`, `lk.e2e_latency` in seconds,
 *   `lk.interrupted`), `user_turn` / `eou_detection` (`lk.transcription_delay`, `lk.end_of_turn_delay`), `llm_request`
 *   under `llm_node` (`lk.response.ttft`, `lk.llm_metrics`), `tts_request` under `tts_node` (`lk.response.ttfb`,
 *   `lk.tts_metrics`), and `realtime` model spans for speech-to-speech.
 */
export type AgentSpanRole =
  | { role: 'turn'; framework: Framework; number: number | undefined; conversation: string | undefined; latencyUs: number | undefined; userUs: number | undefined; interrupted: boolean }
  | { role: 'hop'; framework: Framework; component: Component; latencyUs: number | undefined; model: string; provider: string; tokensIn: number; tokensOut: number; serverPort: number | undefined }
  | { role: 'other'; framework: Framework | '' }

export type Framework = 'pipecat' | 'livekit'

const num = (v: AttrValue | undefined): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined)
const str = (v: AttrValue | undefined): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '')
const secondsToUs = (v: number | undefined) => (v === undefined || v < 0 ? undefined : Math.round(v * 1e6))

/** A JSON attribute (LiveKit's lk.llm_metrics / lk.tts_metrics) read as an object, or empty. */
function jsonAttr(v: AttrValue | undefined): Record<string, unknown> {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v
  if (typeof v !== 'string') return {}
  try {
    const parsed: unknown = JSON.parse(v)
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

/** A LiveKit metrics field in seconds (Python: `ttft`) or milliseconds (JS: `ttftMs`). */
function metricSeconds(metrics: Record<string, unknown>, name: string): number | undefined {
  const s = metrics[name]
  if (typeof s === 'number' && s >= 0) return s
  const ms = metrics[`${name}Ms`]
  return typeof ms === 'number' && ms >= 0 ? ms / 1000 : undefined
}

function usage(a: Attributes): { tokensIn: number; tokensOut: number } {
  return { tokensIn: num(a['gen_ai.usage.input_tokens']) ?? 0, tokensOut: num(a['gen_ai.usage.output_tokens']) ?? 0 }
}

/** The port the span's call went to: `server.port`, else the port of `url.full` / `http.url` (scheme default when absent). */
function serverPort(a: Attributes): number | undefined {
  const port = num(a['server.port'] ?? a['net.peer.port'])
  if (port !== undefined) return port
  const url = str(a['url.full'] ?? a['http.url'])
  if (url === '') return undefined
  try {
    const parsed = new URL(url)
    return parsed.port !== '' ? Number(parsed.port) : parsed.protocol === 'https:' || parsed.protocol === 'wss:' ? 443 : 80
  } catch {
    return undefined
  }
}

function genAi(a: Attributes): { model: string; provider: string; serverPort: number | undefined } {
  return { model: str(a['gen_ai.request.model'] ?? a['gen_ai.response.model']), provider: str(a['gen_ai.provider.name'] ?? a['gen_ai.system']), serverPort: serverPort(a) }
}

const PIPECAT_SERVICE = /^(stt|llm|tts)(_.+)?$/

export function classify(span: OtlpSpan): AgentSpanRole {
  const a = span.attributes
  const name = span.name
  // LiveKit names its spans distinctly; its scope is livekit-agents / "livekit-agents" tracer
  switch (name) {
    case 'agent_turn':
      return { role: 'turn', framework: 'livekit', number: undefined, conversation: str(a['gen_ai.conversation.id'] ?? a['lk.room_sid']) || undefined, latencyUs: secondsToUs(num(a['lk.e2e_latency'])), userUs: undefined, interrupted: a['lk.interrupted'] === true }
    case 'user_turn':
    case 'eou_detection': {
      const delay = secondsToUs(num(a['lk.transcription_delay']))
      if (delay === undefined) return { role: 'other', framework: 'livekit' }
      return { role: 'hop', framework: 'livekit', component: 'stt', latencyUs: delay, ...genAi(a), ...usage(a) }
    }
    case 'llm_request': {
      const m = jsonAttr(a['lk.llm_metrics'])
      return { role: 'hop', framework: 'livekit', component: 'llm', latencyUs: secondsToUs(num(a['lk.response.ttft']) ?? num(a['gen_ai.response.time_to_first_chunk']) ?? metricSeconds(m, 'ttft')), ...genAi(a), ...usage(a) }
    }
    case 'tts_request': {
      const m = jsonAttr(a['lk.tts_metrics'])
      return { role: 'hop', framework: 'livekit', component: 'tts', latencyUs: secondsToUs(num(a['lk.response.ttfb']) ?? metricSeconds(m, 'ttfb')), ...genAi(a), ...usage(a) }
    }
    case 'llm_node':
    case 'tts_node':
    case 'llm_request_run':
    case 'tts_request_run':
    case 'agent_session':
    case 'function_tool':
      return { role: 'other', framework: 'livekit' }
  }
  if (name === 'turn' && ('turn.number' in a || 'conversation.id' in a)) {
    const latency = secondsToUs(num(a['turn.user_bot_latency_seconds']))
    return { role: 'turn', framework: 'pipecat', number: num(a['turn.number']), conversation: str(a['conversation.id']) || undefined, latencyUs: latency, userUs: secondsToUs(num(a['turn.user_turn_seconds'])), interrupted: a['turn.was_interrupted'] === true }
  }
  if (name === 'conversation' && 'conversation.id' in a) return { role: 'other', framework: 'pipecat' }
  const service = PIPECAT_SERVICE.exec(name)
  if (service !== null) {
    const component = service[1] as 'stt' | 'llm' | 'tts'
    return { role: 'hop', framework: 'pipecat', component, latencyUs: secondsToUs(num(a['metrics.ttfb'])), ...genAi(a), ...usage(a) }
  }
  return { role: 'other', framework: '' }
}

/**
 * The moments a parent span carries for its request child: LiveKit puts TTFT on `llm_node` and TTFB on `tts_node`,
 * and the request span under it is the hop.
 */
export function nodeLatencyUs(parent: OtlpSpan): number | undefined {
  if (parent.name === 'llm_node') return secondsToUs(num(parent.attributes['lk.response.ttft']))
  if (parent.name === 'tts_node') return secondsToUs(num(parent.attributes['lk.response.ttfb']))
  return undefined
}

/**
 * Attributes that may hold a credential are never stored; content (prompts, transcripts, answers) only when the
 * config asks for it. LiveKit marks its content `lk.pii.*`; Pipecat and GenAI name theirs below.
 */
const SECRET = /(^|[._-])(authorization|cookie|set-cookie|api[._-]?key|x-api-key|secret|password|passwd|credential|bearer|token)($|[._-])/i
const CONTENT = /(^|\.)pii\.|^(input|output|text|transcript|text_output|tools|gen_ai\.(input|output)\.messages|gen_ai\.system_instructions|gen_ai\.prompt.*|gen_ai\.completion.*|gen_ai\.tool\.call\.(arguments|result)|tool\.(arguments|result)|lk\.user_transcript)$/

/** A string attribute kept at most this long; a span's stored attributes at most this many bytes of JSON. */
export const ATTRIBUTE_LIMITS = { valueBytes: 4096, spanBytes: 64 * 1024, events: 128 } as const

/** `accessToken`, `apiKey`, `X-Api-Key` read as their words, so the secret-name test sees `access_token`, `api_key`. */
function words(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2')
}

const BEARER = /\b(Bearer|Basic|Token|Digest)\s+[A-Za-z0-9._~+/=:-]{6,}/gi
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi
const KEY_LIKE = /\b(sk|pk|rk|xox[abprs]|ghp|gho|glpat|AKIA)[-_][A-Za-z0-9_-]{8,}/g

/** A string as stored: credentials in URLs, bearer tokens and key-shaped words replaced, and cut to the value limit. */
export function storableText(text: string): string {
  let out = text.replace(URL_IN_TEXT, (u) => redactUrl(u)).replace(BEARER, '$1 ***').replace(KEY_LIKE, '$1-***')
  if (Buffer.byteLength(out) > ATTRIBUTE_LIMITS.valueBytes) out = `${out.slice(0, ATTRIBUTE_LIMITS.valueBytes)}…(cut at ${ATTRIBUTE_LIMITS.valueBytes} bytes)`
  return out
}

function storableValue(v: AttrValue, keepContent: boolean): AttrValue | undefined {
  if (typeof v === 'string') return storableText(v)
  if (Array.isArray(v)) return v.map((x) => storableValue(x, keepContent)).filter((x): x is AttrValue => x !== undefined)
  if (v !== null && typeof v === 'object') return storableAttributes(v, keepContent)
  return v
}

/**
 * What of a span's attributes may be stored: no key that names a credential (in any case or nesting: `authorization`,
 * `accessToken`, `x-api-key`, `http.request.header.cookie`), no content unless asked for, and in what is kept, no
 * credential inside a value (a URL's user:password or query, a bearer token, a key-shaped word); strings cut at
 * ATTRIBUTE_LIMITS.valueBytes and a span's attributes at ATTRIBUTE_LIMITS.spanBytes.
 */
export function storableAttributes(attrs: Attributes, keepContent: boolean): Attributes {
  const out: Attributes = {}
  let bytes = 2
  for (const [k, v] of Object.entries(attrs)) {
    if (SECRET.test(words(k))) continue
    if (!keepContent && CONTENT.test(k)) continue
    const kept = storableValue(v, keepContent)
    if (kept === undefined) continue
    const size = Buffer.byteLength(JSON.stringify(kept)) + Buffer.byteLength(k) + 4
    if (bytes + size > ATTRIBUTE_LIMITS.spanBytes) {
      out['hopwatch.attributes_cut'] = true
      break
    }
    bytes += size
    out[k] = kept
  }
  return out
}
