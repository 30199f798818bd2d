import { WebSocket } from 'ws'
import { nowUs } from '../clock.js'
import { wavHeader } from '../sim/audio.js'
import { SseReader } from '../sse.js'
import { call } from './http.js'
import { failureOf, TurnFailure } from './failure.js'
import type { ScenarioTool, ScenarioTurn } from './scenario.js'
import { pause, type ConversationIo, type Speaker, type TurnIo } from './turn.js'
import { streamFrames, utterance } from './voice.js'

interface ToolCall {
  id: string
  name: string
  arguments: string
}

/** What the load generator reads of a streamed chat completion chunk. */
interface StreamChunk {
  choices?: Array<{ delta?: { content?: string | null; tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }> } }>
}

interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool'
  content: string | null
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>
  tool_call_id?: string
}

/** The rate at which live STT audio is sent. */
const STT_RATE = 16_000
/** Conversation history kept for the LLM: enough for context, bounded so long calls do not grow requests forever. */
const HISTORY = 12

/**
 * A cascaded voice agent's traffic for one conversation: the caller's speech streamed to STT (or uploaded), the
 * transcript to the LLM (streamed; a tool call goes to the backend and back to the LLM), the answer to TTS a sentence
 * at a time (the first sentence as soon as it is complete, as agent frameworks do), and the caller listens for as
 * long as the audio lasts.
 */
export function cascadedSpeaker(io: ConversationIo): Speaker {
  const history: ChatMessage[] = [{ role: 'system', content: 'You are the phone agent of a restaurant and delivery service. Answer briefly.' }]
  const auth = (provider: keyof ConversationIo['credentials'], scheme: 'Bearer' | 'Token' | 'xi'): Record<string, string> => {
    const key = io.credentials[provider]
    if (key === undefined) return {}
    return scheme === 'xi' ? { 'xi-api-key': key } : { authorization: `${scheme} ${key}` }
  }

  async function transcribe(say: ScenarioTurn, t: TurnIo): Promise<string> {
    const stt = io.targets.stt
    if (stt === undefined) throw new TurnFailure('stt', 'protocol', 'no STT upstream to send the caller\'s audio to')
    const audio = await utterance(say.say, io.wordsPerS, STT_RATE, say.audio)
    const headers = { ...t.headers, 'x-sim-text': encodeURIComponent(say.say) }
    t.progress.hopCount++
    if (stt.protocol === 'openai-upload') {
      // the caller speaks, then the agent uploads the utterance
      t.progress.userStartUs = nowUs()
      if (!(await pause(audio.ms / io.timeScale, t.signal))) return ''
      t.progress.userEndUs = nowUs()
      t.onUserEnd()
      const boundary = `hopwatch${Math.random().toString(36).slice(2)}`
      const wav = Buffer.concat([wavHeader(audio.sampleRate, audio.pcm.length), audio.pcm])
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\n${io.models.stt}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="turn.wav"\r\nContent-Type: audio/wav\r\n\r\n`),
        wav,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ])
      const chunks: Buffer[] = []
      await call(`${stt.url}/audio/transcriptions`, { agent: io.agent, method: 'POST', headers: { ...headers, ...auth('openai', 'Bearer'), 'content-type': `multipart/form-data; boundary=${boundary}` }, body, signal: t.signal, component: 'stt' }, (c) => chunks.push(c))
      return (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text?: string }).text ?? ''
    }
    const url = `${stt.url.replace(/^http/, 'ws')}/v1/listen?model=${encodeURIComponent(io.models.stt)}&encoding=linear16&sample_rate=${audio.sampleRate}&channels=1&interim_results=false&endpointing=false&punctuate=true`
    const ws = new WebSocket(url, { headers: { ...headers, ...auth('deepgram', 'Token') }, perMessageDeflate: false })
    const abort = () => ws.terminate()
    t.signal.addEventListener('abort', abort, { once: true })
    try {
      const final = new Promise<string>((resolve, reject) => {
        ws.on('message', (data: Buffer, isBinary) => {
          if (isBinary) return
          const m = JSON.parse(data.toString('utf8')) as { type?: string; is_final?: boolean; channel?: { alternatives?: Array<{ transcript?: string }> } }
          if (m.type === 'Results' && m.is_final === true) resolve(m.channel?.alternatives?.[0]?.transcript ?? '')
        })
        ws.on('unexpected-response', (_req, res) => reject(failureOf('stt', undefined, res.statusCode ?? 500)))
        ws.on('error', (err) => reject(failureOf('stt', err)))
        ws.on('close', (code, reason) => reject(code === 1006 ? new TurnFailure('stt', 'reset', 'the stream was cut') : new TurnFailure('stt', code === 1013 ? 'rate_limited' : 'status', `closed ${code} ${reason.toString()}`)))
      })
      final.catch(() => {})
      await Promise.race([new Promise((r) => ws.once('open', r)), final])
      t.progress.userStartUs = nowUs()
      const spoken = await streamFrames(audio.pcm, audio.sampleRate, io.timeScale, (frame) => ws.send(frame), t.signal)
      if (!spoken) return ''
      t.progress.userEndUs = nowUs()
      t.onUserEnd()
      ws.send(JSON.stringify({ type: 'Finalize' }))
      const transcript = await final
      ws.send(JSON.stringify({ type: 'CloseStream' }))
      ws.close()
      return transcript
    } finally {
      t.signal.removeEventListener('abort', abort)
    }
  }

  /** Speaks `text` through TTS; returns the audio's duration. The first audio byte of the turn is its answer. */
  async function speak(text: string, t: TurnIo): Promise<number> {
    const tts = io.targets.tts
    if (tts === undefined) throw new TurnFailure('tts', 'protocol', 'no TTS upstream to speak the answer')
    t.progress.hopCount++
    let bytes = 0
    const onChunk = (chunk: Buffer) => {
      if (bytes === 0 && chunk.length > 0 && t.progress.firstAudioUs === 0) t.progress.firstAudioUs = nowUs()
      bytes += chunk.length
    }
    const headers = { ...t.headers, 'content-type': 'application/json' }
    if (tts.protocol === 'elevenlabs') {
      await call(`${tts.url}/v1/text-to-speech/${encodeURIComponent(io.models.voice)}/stream?output_format=pcm_16000`, { agent: io.agent, method: 'POST', headers: { ...headers, ...auth('elevenlabs', 'xi') }, body: JSON.stringify({ text, model_id: io.models.tts }), signal: t.signal, component: 'tts' }, onChunk)
      return bytes / 32 // 16 kHz, 16-bit
    }
    await call(`${tts.url}/audio/speech`, { agent: io.agent, method: 'POST', headers: { ...headers, ...auth('openai', 'Bearer') }, body: JSON.stringify({ model: io.models.tts, voice: io.models.voice, input: text, response_format: 'pcm' }), signal: t.signal, component: 'tts' }, onChunk)
    return bytes / 48 // 24 kHz, 16-bit
  }

  async function callTool(tool: ScenarioTool, args: Record<string, unknown>, t: TurnIo): Promise<string> {
    const backend = io.targets.backend
    if (backend === undefined) throw new TurnFailure('tool', 'protocol', `no backend upstream for tool ${tool.name}`)
    t.progress.hopCount++
    const path = tool.endpoint.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(args[name] ?? '')))
    const chunks: Buffer[] = []
    await call(`${backend.url}${path}`, { agent: io.agent, method: tool.endpoint.method, headers: { ...t.headers, 'content-type': 'application/json' }, ...(tool.endpoint.method === 'POST' ? { body: JSON.stringify(args) } : {}), signal: t.signal, component: 'tool' }, (c) => chunks.push(c))
    return Buffer.concat(chunks).toString('utf8').slice(0, 2000)
  }

  /**
   * One streamed chat completion. Content goes to `onText` as it arrives; a tool call is returned whole.
   */
  async function chat(messages: ChatMessage[], say: ScenarioTurn, offerTools: boolean, t: TurnIo, onText: (delta: string) => void): Promise<ToolCall[]> {
    const llm = io.targets.llm
    if (llm === undefined) throw new TurnFailure('llm', 'protocol', 'no LLM upstream')
    t.progress.hopCount++
    const wantTool = offerTools && say.tool !== undefined
    const headers: Record<string, string> = {
      ...t.headers,
      ...auth('openai', 'Bearer'),
      'content-type': 'application/json',
      'x-sim-reply': encodeURIComponent(say.reply),
      'x-sim-tool-call': wantTool ? (say.tool?.name ?? 'none') : 'none',
    }
    if (wantTool) headers['x-sim-tool-args'] = encodeURIComponent(JSON.stringify(say.tool?.args ?? {}))
    const tools = offerTools && io.tools.length > 0 ? io.tools.map((tool) => ({ type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } })) : undefined
    // tool calls are assembled by their index: a model may call several at once, their deltas interleaved
    const toolCalls: ToolCall[] = []
    const sse = new SseReader((data) => {
      if (data === '[DONE]') return
      let chunk: StreamChunk
      try {
        chunk = JSON.parse(data) as StreamChunk
      } catch {
        throw new TurnFailure('llm', 'protocol', `a stream event is not JSON: ${data.slice(0, 80)}`)
      }
      const delta = chunk.choices?.[0]?.delta
      if (typeof delta?.content === 'string' && delta.content !== '') onText(delta.content)
      for (const [k, tc] of (delta?.tool_calls ?? []).entries()) {
        const index = typeof tc.index === 'number' ? tc.index : k
        const call = (toolCalls[index] ??= { id: '', name: '', arguments: '' })
        call.id ||= tc.id ?? ''
        call.name += tc.function?.name ?? ''
        call.arguments += tc.function?.arguments ?? ''
      }
    })
    await call(`${llm.url}/chat/completions`, { agent: io.agent, method: 'POST', headers, body: JSON.stringify({ model: io.models.llm, stream: true, stream_options: { include_usage: true }, messages, ...(tools !== undefined ? { tools } : {}) }), signal: t.signal, component: 'llm' }, (c) => sse.push(c))
    sse.end()
    return toolCalls.filter((c) => c !== undefined && c.name !== '')
  }

  return {
    async turn(say, t) {
      const transcript = await transcribe(say, t)
      if (t.signal.aborted) return
      t.progress.transcript = transcript
      history.push({ role: 'user', content: transcript })
      const messages = history.slice(-HISTORY)
      if (messages[0]?.role !== 'system') messages.unshift(history[0] as ChatMessage)

      // the first complete sentence goes to TTS while the LLM goes on; the rest follows when the answer is complete
      let answer = ''
      let spokenUpTo = 0
      const speeches: Array<Promise<number>> = []
      const onText = (delta: string) => {
        answer += delta
        if (speeches.length === 0) {
          const end = /[.!?](\s|$)/.exec(answer)
          if (end !== null) {
            spokenUpTo = end.index + 1
            speeches.push(speak(answer.slice(0, spokenUpTo), t))
          }
        }
      }
      try {
        const toolCalls = await chat(messages, say, true, t, onText)
        if (toolCalls.length > 0) {
          t.progress.toolCalled = toolCalls.map((c) => c.name).join(',')
          const results: string[] = []
          for (const toolCall of toolCalls) {
            const tool = io.tools.find((x) => x.name === toolCall.name)
            if (tool === undefined) throw new TurnFailure('llm', 'protocol', `the LLM called ${toolCall.name}, which the scenario does not offer`)
            let args: Record<string, unknown> = {}
            try {
              args = JSON.parse(toolCall.arguments || '{}') as Record<string, unknown>
            } catch {
              throw new TurnFailure('llm', 'protocol', `tool-call arguments are not JSON: ${toolCall.arguments.slice(0, 80)}`)
            }
            results.push(await callTool(tool, args, t))
          }
          messages.push({ role: 'assistant', content: null, tool_calls: toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) })
          for (const [i, toolCall] of toolCalls.entries()) messages.push({ role: 'tool', tool_call_id: toolCall.id, content: results[i] ?? '' })
          await chat(messages, say, false, t, onText)
        }
        const rest = answer.slice(spokenUpTo).trim()
        if (rest !== '') speeches.push(speak(rest, t))
      } catch (err) {
        // a speech already under way fails with the turn; wait for it so nothing rejects unheard
        await Promise.allSettled(speeches)
        throw err
      }
      t.progress.answer = answer
      history.push({ role: 'assistant', content: answer })
      const spoken = await Promise.allSettled(speeches)
      const failed = spoken.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (failed !== undefined) throw failed.reason
      t.progress.audioMs = spoken.reduce((sum, r) => sum + (r.status === 'fulfilled' ? r.value : 0), 0)
      // the caller hears the answer from its first audio for as long as it lasts (time-scaled)
      if (t.progress.firstAudioUs > 0) {
        const listenUntilUs = t.progress.firstAudioUs + (t.progress.audioMs * 1000) / io.timeScale
        await pause((listenUntilUs - nowUs()) / 1000, t.signal)
      }
      t.progress.endUs = nowUs()
    },
    close() {},
  }
}

