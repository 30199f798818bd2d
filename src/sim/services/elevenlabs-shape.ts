import type { ErrorShaper } from '../http.js'

const STATUSES: Record<number, string> = { 400: 'invalid_request', 401: 'invalid_api_key', 404: 'not_found', 413: 'payload_too_large', 429: 'too_many_concurrent_requests', 500: 'internal_server_error', 503: 'system_busy' }

/** ElevenLabs' error body: `{"detail": {"status", "message"}}`. */
export const elevenlabsError: ErrorShaper = (status, message, code) => ({ detail: { status: code ?? STATUSES[status] ?? 'error', message } })

/** A request-validation error as ElevenLabs (FastAPI) answers it: 422 with a list of field errors. */
export function elevenlabsValidation(loc: string[], msg: string, type = 'missing'): unknown {
  return { detail: [{ type, loc, msg, input: null }] }
}
