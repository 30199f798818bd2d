import type { Agent } from 'undici'
import type { ScenarioTool, ScenarioTurn } from './scenario.js'
import type { Credentials, Targets } from './targets.js'

/** What one turn has done so far; filled in as it goes, so an interrupted or failed turn still reports its moments. */
export interface TurnProgress {
  userStartUs: number
  userEndUs: number
  firstAudioUs: number
  /** when the caller finished hearing the answer */
  endUs: number
  audioMs: number
  transcript: string
  answer: string
  /** the tools the LLM called in the turn, comma-separated (it may call several at once) */
  toolCalled: string | undefined
  hopCount: number
}

export function newProgress(): TurnProgress {
  return { userStartUs: 0, userEndUs: 0, firstAudioUs: 0, endUs: 0, audioMs: 0, transcript: '', answer: '', toolCalled: undefined, hopCount: 0 }
}

/** What every turn of a conversation shares. */
export interface ConversationIo {
  runId: string
  conversationId: string
  targets: Targets
  credentials: Credentials
  agent: Agent
  timeScale: number
  wordsPerS: number
  tools: readonly ScenarioTool[]
  models: { llm: string; tts: string; voice: string; stt: string; s2s: string }
}

/** One turn's inputs: correlation headers, a signal that aborts it (the caller talks over it or hangs up), hooks. */
export interface TurnIo {
  turn: number
  headers: Record<string, string>
  signal: AbortSignal
  progress: TurnProgress
  /** the user has stopped speaking: patience starts counting */
  onUserEnd(): void
}

/** Speaks one architecture for one conversation: `turn` runs a turn, `close` hangs up. */
export interface Speaker {
  turn(say: ScenarioTurn, io: TurnIo): Promise<void>
  close(): void
}

/**
 * The correlation headers that join the proxy's hops to this turn: hopwatch's own (the proxy strips them), and the
 * same as W3C baggage, which services pass on (a model router forwards it, so the hop behind it joins the turn too).
 */
export function correlationHeaders(io: ConversationIo, turn: number): Record<string, string> {
  return {
    'x-hopwatch-run': io.runId,
    'x-hopwatch-conversation': io.conversationId,
    'x-hopwatch-turn': String(turn),
    baggage: `hopwatch.run=${encodeURIComponent(io.runId)},hopwatch.conversation=${encodeURIComponent(io.conversationId)},hopwatch.turn=${turn}`,
  }
}

/** Resolves after `ms` of the time-scaled clock, or false when aborted first. */
export function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(false)
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      resolve(ok)
    }
    const onAbort = () => done(false)
    const timer = setTimeout(() => done(true), Math.max(0, ms))
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
