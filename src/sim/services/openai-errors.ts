import type { IncomingMessage, ServerResponse } from 'node:http'
import { readBody, sendJson } from '../http.js'
import type { ServiceContext } from '../service.js'
import type { ErrorShaper } from '../http.js'

const TYPES: Record<number, { type: string; code: string | null }> = {
  400: { type: 'invalid_request_error', code: null },
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  404: { type: 'invalid_request_error', code: null },
  413: { type: 'invalid_request_error', code: 'request_too_large' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
  500: { type: 'server_error', code: null },
  503: { type: 'server_error', code: 'overloaded' },
}

/** OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`; the SDKs raise typed errors from it. */
export const openaiError: ErrorShaper = (status, message, code) => {
  const known = TYPES[status] ?? { type: 'api_error', code: null }
  return { error: { message, type: known.type, param: null, code: code ?? known.code } }
}

/** A 400 naming the offending parameter, as OpenAI answers a malformed request. */
export function openaiInvalid(message: string, param: string | null, code: string | null = null): unknown {
  return { error: { message, type: 'invalid_request_error', param, code } }
}

/** The route-not-found answer of the OpenAI API. */
export function openaiNoRoute(method: string, path: string): unknown {
  return openaiInvalid(`Invalid URL (${method} ${path})`, null)
}

/** Parses a JSON request body; the error text is OpenAI's. */
export function parseOpenaiJson(raw: Buffer): { ok: true; value: Record<string, unknown> } | { ok: false; body: unknown } {
  try {
    const value = JSON.parse(raw.toString('utf8')) as unknown
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, body: openaiInvalid('The request body must be a JSON object.', null) }
    return { ok: true, value: value as Record<string, unknown> }
  } catch {
    return {
      ok: false,
      body: openaiInvalid("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)", null),
    }
  }
}

/**
 * Reads an OpenAI-style JSON request body; a body over the limit (413) or not a JSON object (400) is answered here
 * in OpenAI's shape and counted, and undefined returned.
 */
export async function readOpenaiJson(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<{ raw: Buffer; body: Record<string, unknown> } | undefined> {
  const raw = await readBody(req, ctx.maxBodyBytes)
  if (raw === 'too_large') {
    ctx.metrics.count('bad_request')
    sendJson(res, 413, openaiError(413, `Request body too large; the limit is ${ctx.maxBodyBytes} bytes.`), { connection: 'close' })
    return undefined
  }
  const parsed = parseOpenaiJson(raw)
  if (!parsed.ok) {
    ctx.metrics.count('bad_request')
    sendJson(res, 400, parsed.body)
    return undefined
  }
  return { raw, body: parsed.value }
}
