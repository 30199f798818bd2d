import { nowUs } from '../clock.js'
import { turnEnded } from '../events.js'
import type { Rng } from '../sim/random.js'
import type { Architecture, TurnRecord } from '../types.js'
import { wordErrorRate } from '../wer.js'
import { cascadedSpeaker } from './cascaded.js'
import { TurnFailure } from './failure.js'
import type { Persona } from './persona.js'
import { s2sSpeaker } from './s2s.js'
import type { Scenario, ScenarioTurn } from './scenario.js'
import { correlationHeaders, newProgress, pause, type ConversationIo, type Speaker, type TurnProgress } from './turn.js'

export interface ConversationPlan {
  io: ConversationIo
  architecture: Architecture
  scenario: Scenario
  persona: Persona
  /** how many of the scenario's turns this call gets to */
  turns: number
  lateUs: number
  rng: Rng
  /** the load step now (a turn belongs to the step it starts in) */
  step(): number
  /** the run is ending: finish the current turn, then hang up */
  stopping(): boolean
  /** aborts everything in flight: the run's drain time is over */
  signal: AbortSignal
}

export interface ConversationResult {
  turns: number
  succeeded: boolean
  hungUp: boolean
}

/** multi-model is a cascaded agent whose LLM requests go to the router (the executor points the LLM target at it). */
const SPEAKERS: Readonly<Record<Architecture, (io: ConversationIo) => Speaker>> = { cascaded: cascadedSpeaker, s2s: s2sSpeaker, 'multi-model': cascadedSpeaker }

/** A good answer calls the expected tool and contains every expected keyword (case and punctuation aside). */
export function answerMeetsExpectation(say: ScenarioTurn, progress: TurnProgress): boolean {
  if (progress.firstAudioUs === 0) return false
  if (say.expect.intent !== undefined && progress.toolCalled !== undefined && !progress.toolCalled.split(',').includes(say.expect.intent)) return false
  const text = progress.answer.toLowerCase()
  return say.expect.keywords.every((k) => text.includes(k.toLowerCase()))
}

/**
 * One simulated call: for each turn the caller speaks, waits for the agent's first audio with the persona's
 * patience — at `interrupt_after_s` of silence it talks over the agent (the turn's in-flight hops are aborted) and
 * says it again; past `hang_up_after_s` of silence in all, or `max_repeats`, it hangs up — listens, thinks, and goes
 * on. Every turn is published on `hopwatch:turn:end`.
 */
export async function runConversation(plan: ConversationPlan): Promise<ConversationResult> {
  const { io, persona, scenario } = plan
  const speaker = SPEAKERS[plan.architecture](io)
  let turnNo = 0
  let succeeded = true
  let hungUp = false
  try {
    for (let index = 0; index < plan.turns && !hungUp; index++) {
      const say = scenario.turns[index] as ScenarioTurn
      let silentS = 0
      let repeats = 0
      for (;;) {
        turnNo++
        const progress = newProgress()
        const abort = new AbortController()
        const cut = () => abort.abort()
        plan.signal.addEventListener('abort', cut, { once: true })
        const step = plan.step()
        const patienceS = Math.min(persona.patience.interrupt_after_s, persona.patience.hang_up_after_s - silentS)
        let patience: NodeJS.Timeout | undefined
        let ranOut = false
        let failure: TurnFailure | undefined
        await speaker
          .turn(say, {
            turn: turnNo,
            headers: correlationHeaders(io, turnNo),
            signal: abort.signal,
            progress,
            onUserEnd: () => {
              patience = setTimeout(() => {
                if (progress.firstAudioUs === 0) {
                  ranOut = true
                  abort.abort()
                }
              }, patienceS * 1000)
            },
          })
          .catch((err: unknown) => {
            if (!abort.signal.aborted) failure = err instanceof TurnFailure ? err : new TurnFailure('llm', 'protocol', (err as Error).message)
          })
          .finally(() => {
            clearTimeout(patience)
            plan.signal.removeEventListener('abort', cut)
          })
        const endUs = progress.endUs || nowUs()
        let interrupted: 0 | 1 = 0
        let hangUp: 0 | 1 = 0
        if (ranOut) {
          silentS += patienceS
          repeats++
          if (silentS >= persona.patience.hang_up_after_s - 1e-9 || repeats > persona.patience.max_repeats) hangUp = 1
          else interrupted = 1
        }
        const ok = failure === undefined && !ranOut && answerMeetsExpectation(say, progress)
        if (!ok) succeeded = false
        const record: TurnRecord = {
          run_id: io.runId,
          conversation_id: io.conversationId,
          turn: turnNo,
          scenario: scenario.name,
          step,
          architecture: plan.architecture,
          user_start_us: progress.userStartUs,
          user_end_us: progress.userEndUs,
          first_audio_us: progress.firstAudioUs,
          end_us: endUs,
          success: ok ? 1 : 0,
          interrupted,
          hung_up: hangUp,
          wer: progress.transcript !== '' ? wordErrorRate(say.say, progress.transcript) : 0,
          error_kind: failure?.errorKind ?? (plan.signal.aborted ? 'run_ended' : ''),
          hop_count: progress.hopCount,
          late_us: plan.lateUs,
          persona: persona.name,
          transcript: progress.transcript,
        }
        if (turnEnded.hasSubscribers) turnEnded.publish(record)
        if (hangUp === 1 || failure !== undefined) {
          // a caller who hangs up, or whose call failed, ends the conversation
          hungUp = hangUp === 1
          if (failure !== undefined) return { turns: turnNo, succeeded: false, hungUp }
          break
        }
        if (interrupted === 0 || plan.signal.aborted) break
      }
      if (plan.stopping() || hungUp || plan.signal.aborted) break
      if (index + 1 < plan.turns) {
        const thinkS = persona.think_s.min + plan.rng.next() * (persona.think_s.max - persona.think_s.min)
        await pause((thinkS * 1000) / io.timeScale)
      }
    }
  } finally {
    speaker.close()
  }
  return { turns: turnNo, succeeded: succeeded && !hungUp, hungUp }
}
