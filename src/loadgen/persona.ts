/**
 * Personas model how people behave on a call. Patience follows the bands people tolerate in voice conversations:
 * a reply under 1 s feels natural, 1–2 s is a pause, at 2–3 s callers start repeating themselves, and past 3 s they
 * talk over the agent or give up. Patience is in real seconds: the system's latencies are never time-scaled.
 */
export interface Persona {
  name: string
  /** speaking pace: the caller's audio lasts words ÷ this */
  words_per_s: number
  /** pause between hearing the answer and speaking again (time-scaled) */
  think_s: { min: number; max: number }
  patience: {
    /** silence after the caller stops speaking before they talk over the agent: the turn is interrupted */
    interrupt_after_s: number
    /** silence, summed over the attempts at one utterance, after which they hang up */
    hang_up_after_s: number
    /** times they repeat an utterance before hanging up */
    max_repeats: number
  }
}

export const PERSONAS: Readonly<Record<string, Persona>> = {
  typical: { name: 'typical', words_per_s: 2.5, think_s: { min: 1, max: 3 }, patience: { interrupt_after_s: 3, hang_up_after_s: 8, max_repeats: 2 } },
  patient: { name: 'patient', words_per_s: 2.2, think_s: { min: 2, max: 4 }, patience: { interrupt_after_s: 5, hang_up_after_s: 15, max_repeats: 3 } },
  impatient: { name: 'impatient', words_per_s: 3, think_s: { min: 0.5, max: 1.5 }, patience: { interrupt_after_s: 2, hang_up_after_s: 5, max_repeats: 1 } },
}
