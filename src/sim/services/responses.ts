import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { resetConnection, sendJson, wait, writeChunk } from '../http.js'
import type { ServiceContext } from '../service.js'
import { tokenCount } from '../text.js'
import { chooseTool, contentText, replyText, splitArguments, streamTokens, tokens, type ChatMessage, type Tool } from './llm.js'
import { openaiError, openaiInvalid, readOpenaiJson } from './openai-errors.js'

/** The conversation a Responses request carries: `input` as text or as items (messages, function call outputs). */
function inputMessages(input: unknown, instructions: unknown): ChatMessage[] | string {
  const out: ChatMessage[] = typeof instructions === 'string' ? [{ role: 'developer', content: instructions }] : []
  if (typeof input === 'string') return [...out, { role: 'user', content: input }]
  if (!Array.isArray(input)) return "Missing required parameter: 'input'."
  for (const [i, item] of (input as unknown[]).entries()) {
    if (item === null || typeof item !== 'object') return `Invalid type for 'input[${i}]': expected an object.`
    const it = item as { type?: unknown; role?: unknown; content?: unknown; output?: unknown }
    if (it.type === 'function_call_output') out.push({ role: 'tool', content: typeof it.output === 'string' ? it.output : JSON.stringify(it.output) })
    else if (it.type === 'function_call') out.push({ role: 'assistant', content: '' })
    else if (typeof it.role === 'string') out.push({ role: it.role, content: contentText(it.content) })
    else return `Invalid value for 'input[${i}]': expected a message or a function_call_output item.`
  }
  return out
}

/** Responses tools are flat (`{type: 'function', name, parameters}`); the chat helpers take the nested shape. */
function chatTools(tools: unknown): Tool[] | string {
  if (tools === undefined) return []
  if (!Array.isArray(tools)) return "Invalid type for 'tools': expected an array."
  const out: Tool[] = []
  for (const [i, t] of (tools as unknown[]).entries()) {
    const tool = t as { type?: unknown; name?: unknown; parameters?: Tool['function']['parameters'] } | null
    if (tool?.type !== 'function') continue // built-in tools (web search, …) are not simulated: never chosen
    if (typeof tool.name !== 'string') return `Missing required parameter: 'tools[${i}].name'.`
    out.push({ type: 'function', function: { name: tool.name, ...(tool.parameters !== undefined ? { parameters: tool.parameters } : {}) } })
  }
  return out
}

/**
 * OpenAI's Responses API (`POST /v1/responses`, the Vercel AI SDK's default call): the same model as chat completions
 * (a tool call or a paced answer a word per token), answered as a response object or, streamed, as its typed events:
 * `response.created` … `response.output_text.delta` (or `response.function_call_arguments.delta`) …
 * `response.completed` with usage (`input_tokens`, `output_tokens`).
 */
export async function responses(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const request = await readOpenaiJson(ctx, req, res)
  if (request === undefined) return
  const body = request.body
  const bad = (message: string, param: string) => {
    ctx.metrics.count('bad_request')
    sendJson(res, 400, openaiInvalid(message, param))
  }
  if (typeof body.model !== 'string' || body.model === '') return bad('you must provide a model parameter', 'model')
  const messages = inputMessages(body.input, body.instructions)
  if (typeof messages === 'string') return bad(messages, 'input')
  const tools = chatTools(body.tools)
  if (typeof tools === 'string') return bad(tools, 'tools')
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return bad("Invalid type for 'stream': expected a boolean.", 'stream')
  const model = body.model
  const call = chooseTool(req, body, messages, tools, ctx.rng)
  const text = call === undefined ? replyText(req, messages, ctx) : ''
  const pieces = call === undefined ? tokens(text) : splitArguments(call.arguments)
  const inputTokens = messages.reduce((n, m) => n + tokenCount(contentText(m.content)) + 4, 0)
  const outputTokens = call === undefined ? pieces.length : tokenCount(call.arguments) + 3
  const usage = { input_tokens: inputTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: outputTokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: inputTokens + outputTokens }
  const id = `resp_${randomUUID().replace(/-/g, '')}`
  const itemId = call === undefined ? `msg_${randomUUID().replace(/-/g, '')}` : `fc_${randomUUID().replace(/-/g, '')}`
  const createdAt = Math.floor(Date.now() / 1000)
  const item = (status: 'in_progress' | 'completed', done: boolean) =>
    call === undefined
      ? { id: itemId, type: 'message', status, role: 'assistant', content: done ? [{ type: 'output_text', text, annotations: [] }] : [] }
      : { id: itemId, type: 'function_call', status, call_id: call.id, name: call.name, arguments: done ? call.arguments : '' }
  const response = (status: 'in_progress' | 'completed') => ({
    id,
    object: 'response',
    created_at: createdAt,
    status,
    error: null,
    incomplete_details: null,
    model,
    output: status === 'completed' ? [item('completed', true)] : [],
    parallel_tool_calls: true,
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    usage: status === 'completed' ? usage : null,
  })

  const job = await ctx.admit(req, res, openaiError)
  if (job === undefined) return
  try {
    const tokenMs = (1000 / ctx.config.tokens_per_s) * ctx.faults.slowdown()
    if (body.stream !== true) {
      if (!(await wait(ctx.serviceMs(ctx.config.ttft) + tokenMs * pieces.length, job.signal))) return void ctx.metrics.count('aborted')
      if (job.drop) {
        ctx.metrics.count('dropped')
        return resetConnection(req.socket)
      }
      ctx.metrics.count('ok')
      sendJson(res, 200, response('completed'), { 'x-sim-queue-ms': job.waitedMs.toFixed(1) })
      return
    }
    let sequence = 0
    const event = (type: string, fields: object) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-sim-queue-ms': job.waitedMs.toFixed(1) })
    if (!(await writeChunk(res, event('response.created', { response: response('in_progress') }) + event('response.in_progress', { response: response('in_progress') }), job.signal))) return void ctx.metrics.count('aborted')
    if (!(await wait(ctx.serviceMs(ctx.config.ttft), job.signal))) return void ctx.metrics.count('aborted')
    let opening = event('response.output_item.added', { output_index: 0, item: item('in_progress', false) })
    if (call === undefined) opening += event('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } })
    if (!(await writeChunk(res, opening, job.signal))) return void ctx.metrics.count('aborted')
    const delta = (piece: string) => (call === undefined ? event('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta: piece, logprobs: [] }) : event('response.function_call_arguments.delta', { item_id: itemId, output_index: 0, delta: piece }))
    if (!(await streamTokens(ctx, req, res, job, pieces, tokenMs, delta))) return
    let tail =
      call === undefined
        ? event('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text, logprobs: [] }) + event('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', text, annotations: [] } })
        : event('response.function_call_arguments.done', { item_id: itemId, output_index: 0, arguments: call.arguments })
    tail += event('response.output_item.done', { output_index: 0, item: item('completed', true) })
    tail += event('response.completed', { response: response('completed') })
    ctx.metrics.count('ok')
    res.end(tail)
  } finally {
    job.release()
  }
}
