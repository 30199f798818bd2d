import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { resetConnection, sendJson, wait, writeChunk } from '../http.js'
import type { Rng } from '../random.js'
import type { Job, KindFactory, ServiceContext } from '../service.js'
import { headerText, sentence, tokenCount, words } from '../text.js'
import { openaiError, openaiInvalid, openaiNoRoute, readOpenaiJson } from './openai-errors.js'
import { responses } from './responses.js'

export interface ChatMessage {
  role: string
  content?: unknown
}

export interface Tool {
  type: string
  function: { name: string; parameters?: { properties?: Record<string, { type?: string; enum?: unknown[] }>; required?: string[] } }
}

export interface ToolCall {
  id: string
  name: string
  arguments: string
}

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function']

/** Text of a message's content: a string or a list of `{type: 'text', text}` parts. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map((p) => (p !== null && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join(' ')
  return ''
}

/** Checks the request as OpenAI does; the first problem found is answered as a 400 naming its parameter. */
function validate(body: Record<string, unknown>): { messages: ChatMessage[]; tools: Tool[]; model: string } | { error: unknown } {
  if (typeof body.model !== 'string' || body.model === '') return { error: openaiInvalid('you must provide a model parameter', 'model') }
  if (!Array.isArray(body.messages)) return { error: openaiInvalid("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter') }
  if (body.messages.length === 0) return { error: openaiInvalid("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array') }
  for (const [i, m] of (body.messages as unknown[]).entries()) {
    const role = m !== null && typeof m === 'object' ? (m as ChatMessage).role : undefined
    if (typeof role !== 'string' || !ROLES.includes(role)) return { error: openaiInvalid(`Invalid value: '${String(role)}'. Supported values are: ${ROLES.map((r) => `'${r}'`).join(', ')}.`, `messages[${i}].role`, 'invalid_value') }
  }
  const tools = body.tools ?? []
  if (!Array.isArray(tools)) return { error: openaiInvalid("Invalid type for 'tools': expected an array.", 'tools', 'invalid_type') }
  for (const [i, t] of (tools as unknown[]).entries()) {
    const fn = t !== null && typeof t === 'object' ? (t as Tool).function : undefined
    if (typeof fn?.name !== 'string') return { error: openaiInvalid(`Missing required parameter: 'tools[${i}].function.name'.`, `tools[${i}].function.name`, 'missing_required_parameter') }
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return { error: openaiInvalid("Invalid type for 'stream': expected a boolean.", 'stream', 'invalid_type') }
  return { messages: body.messages as ChatMessage[], tools: tools as Tool[], model: body.model }
}

/** Placeholder arguments that satisfy a tool's JSON schema's required properties. */
function argumentsFor(tool: Tool): Record<string, unknown> {
  const props = tool.function.parameters?.properties ?? {}
  const out: Record<string, unknown> = {}
  for (const name of tool.function.parameters?.required ?? Object.keys(props)) {
    const p = props[name] ?? {}
    if (Array.isArray(p.enum) && p.enum.length > 0) out[name] = p.enum[0]
    else if (p.type === 'integer' || p.type === 'number') out[name] = 2
    else if (p.type === 'boolean') out[name] = true
    else out[name] = name === 'date' ? '2026-12-04' : name === 'time' ? '19:00' : 'sample'
  }
  return out
}

/**
 * Which tool (if any) the model calls: never after a tool result; the one named by `x-sim-tool-call` or forced by
 * `tool_choice`; otherwise, under `auto`, a tool all of whose name's words the user's last message contains
 * (`check_availability` for "can you check availability on Friday").
 */
export function chooseTool(req: IncomingMessage, body: Record<string, unknown>, messages: ChatMessage[], tools: Tool[], rng: Rng): ToolCall | undefined {
  const last = messages.at(-1)
  if (tools.length === 0 || last?.role === 'tool' || last?.role === 'function' || body.tool_choice === 'none') return undefined
  const named = headerText(req.headers['x-sim-tool-call'])
  if (named === 'none') return undefined
  const choice = body.tool_choice as { function?: { name?: string } } | string | undefined
  const forced = typeof choice === 'object' ? choice.function?.name : undefined
  const lastUser = contentText([...messages].reverse().find((m) => m.role === 'user')?.content).toLowerCase()
  const byWords = tools.find((t) => {
    const parts = t.function.name.toLowerCase().split(/[_\-\s]+/).filter((w) => w.length > 2)
    return parts.length > 0 && parts.every((w) => lastUser.includes(w))
  })
  const tool = tools.find((t) => t.function.name === (named ?? forced)) ?? byWords ?? (choice === 'required' ? tools[0] : undefined)
  if (tool === undefined) return undefined
  const args = headerText(req.headers['x-sim-tool-args']) ?? JSON.stringify(argumentsFor(tool))
  return { id: `call_${Math.floor(rng.next() * 2 ** 48).toString(36)}`, name: tool.function.name, arguments: args }
}

/** The answer's text: the caller's `x-sim-reply`, a summary of the tool result, or a generated sentence. */
export function replyText(req: IncomingMessage, messages: ChatMessage[], ctx: ServiceContext): string {
  const given = headerText(req.headers['x-sim-reply'])
  if (given !== undefined) return given
  const last = messages.at(-1)
  const { min, max } = ctx.config.reply_words
  if (last?.role === 'tool') return `Here is what I found: ${contentText(last.content).slice(0, 200)}`
  return sentence(ctx.rng, ctx.rng.int(min, max))
}

/** The text as the tokens it streams in: one word (with its leading space) per token. */
export function tokens(text: string): string[] {
  return words(text).map((w, i) => (i === 0 ? w : ` ${w}`))
}

/**
 * OpenAI-compatible chat completions, streamed (SSE, `[DONE]`, usage) or not, with tool calls; tokens paced. The
 * Responses API (`POST /v1/responses`) is in responses.ts.
 */
export const llm: KindFactory = (ctx) => {
  async function chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = await readOpenaiJson(ctx, req, res)
    if (request === undefined) return
    const body = request.body
    const checked = validate(body)
    if ('error' in checked) {
      ctx.metrics.count('bad_request')
      sendJson(res, 400, checked.error)
      return
    }
    const toolCall = chooseTool(req, body, checked.messages, checked.tools, ctx.rng)
    const text = toolCall === undefined ? replyText(req, checked.messages, ctx) : ''
    const promptTokens = checked.messages.reduce((n, m) => n + tokenCount(contentText(m.content)) + 4, 0)
    const pieces = toolCall === undefined ? tokens(text) : splitArguments(toolCall.arguments)
    const usage = { prompt_tokens: promptTokens, completion_tokens: toolCall === undefined ? pieces.length : tokenCount(toolCall.arguments) + 3, total_tokens: 0 }
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens

    const job = await ctx.admit(req, res, openaiError)
    if (job === undefined) return
    try {
      const id = `chatcmpl-${randomUUID().replace(/-/g, '').slice(0, 24)}`
      const created = Math.floor(Date.now() / 1000)
      const model = checked.model
      const tokenMs = (1000 / ctx.config.tokens_per_s) * ctx.faults.slowdown()
      if (body.stream !== true) {
        const ok = await wait(ctx.serviceMs(ctx.config.ttft) + tokenMs * pieces.length, job.signal)
        if (!ok) return void ctx.metrics.count('aborted')
        if (job.drop) {
          ctx.metrics.count('dropped')
          return resetConnection(req.socket)
        }
        const message = toolCall === undefined ? { role: 'assistant', content: text, refusal: null } : { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: toolCall.id, type: 'function', function: { name: toolCall.name, arguments: toolCall.arguments } }] }
        ctx.metrics.count('ok')
        sendJson(res, 200, { id, object: 'chat.completion', created, model, choices: [{ index: 0, message, logprobs: null, finish_reason: toolCall === undefined ? 'stop' : 'tool_calls' }], usage, system_fingerprint: 'fp_hopwatch_sim' }, { 'x-sim-queue-ms': job.waitedMs.toFixed(1) })
        return
      }
      const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
      const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_hopwatch_sim', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(includeUsage ? { usage: null } : {}) })}\n\n`
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-sim-queue-ms': job.waitedMs.toFixed(1) })
      res.flushHeaders()
      if (!(await wait(ctx.serviceMs(ctx.config.ttft), job.signal))) return void ctx.metrics.count('aborted')
      const first = toolCall === undefined ? { role: 'assistant', content: '', refusal: null } : { role: 'assistant', content: null, tool_calls: [{ index: 0, id: toolCall.id, type: 'function', function: { name: toolCall.name, arguments: '' } }] }
      if (!(await writeChunk(res, chunk(first), job.signal))) return void ctx.metrics.count('aborted')
      if (!(await streamTokens(ctx, req, res, job, pieces, tokenMs, (piece) => chunk(toolCall === undefined ? { content: piece } : { tool_calls: [{ index: 0, function: { arguments: piece } }] })))) return
      let tail = chunk({}, toolCall === undefined ? 'stop' : 'tool_calls')
      if (includeUsage) tail += `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_hopwatch_sim', choices: [], usage })}\n\n`
      tail += 'data: [DONE]\n\n'
      ctx.metrics.count('ok')
      res.end(tail)
    } finally {
      job.release()
    }
  }

  return {
    async request(req, res, url) {
      const path = url.pathname.replace(/^\/v1(?=\/)/, '')
      if (req.method === 'POST' && path === '/chat/completions') return chat(req, res)
      if (req.method === 'POST' && path === '/responses') return responses(ctx, req, res)
      if (req.method === 'GET' && path === '/models') {
        sendJson(res, 200, { object: 'list', data: [{ id: 'sim-llm', object: 'model', created: 0, owned_by: 'hopwatch-sim' }] })
        return
      }
      ctx.metrics.count('bad_request')
      sendJson(res, 404, openaiNoRoute(req.method ?? 'GET', url.pathname))
    },
  }
}

/**
 * Streams an answer's pieces a token at a time at the model's pace, each as `render` writes it; a planted drop cuts
 * the connection halfway. False when the stream did not finish (dropped, or the caller left: counted).
 */
export async function streamTokens(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse, job: Job, pieces: readonly string[], tokenMs: number, render: (piece: string) => string): Promise<boolean> {
  const dropAt = job.drop ? Math.floor(pieces.length / 2) : -1
  for (const [i, piece] of pieces.entries()) {
    if (i === dropAt) {
      ctx.metrics.count('dropped')
      resetConnection(req.socket)
      return false
    }
    const paced = i === 0 || (await wait(tokenMs, job.signal))
    if (!paced || !(await writeChunk(res, render(piece), job.signal))) {
      ctx.metrics.count('aborted')
      return false
    }
  }
  return true
}

/** Tool-call arguments streamed in a few pieces, as models stream them. */
export function splitArguments(args: string): string[] {
  const size = Math.max(4, Math.ceil(args.length / 4))
  const out: string[] = []
  for (let i = 0; i < args.length; i += size) out.push(args.slice(i, i + size))
  return out.length > 0 ? out : ['{}']
}
