import { pcmToMulaw, silentMp3Frame, speechPcm, wavHeader } from './audio.js'

/**
 * Audio in a provider's output format, produced piece by piece as synthesis goes on: `chunk(fromMs, toMs)` is the
 * audio between those times, so pieces join into one valid stream of the whole duration.
 */
export interface AudioEncoder {
  contentType: string
  /** bytes before the first chunk (a WAV header), given the whole duration */
  header(totalMs: number): Buffer
  chunk(fromMs: number, toMs: number): Buffer
}

function pcm(rate: number, contentType: string, wav: boolean): AudioEncoder {
  const samples = (ms: number) => Math.round((rate * ms) / 1000)
  return {
    contentType,
    header: (totalMs) => (wav ? wavHeader(rate, samples(totalMs) * 2) : Buffer.alloc(0)),
    // sample boundaries are computed from the start, so pieces add up to exactly the whole duration
    chunk: (fromMs, toMs) => speechPcm(rate, ((samples(toMs) - samples(fromMs)) * 1000) / rate, fromMs),
  }
}

function mulaw(rate: number): AudioEncoder {
  const inner = pcm(rate, 'audio/basic', false)
  return { contentType: 'audio/basic', header: () => Buffer.alloc(0), chunk: (from, to) => pcmToMulaw(inner.chunk(from, to)) }
}

function mp3(sampleRate: number, kbps: number): AudioEncoder | undefined {
  const silent = silentMp3Frame({ sampleRate, kbps })
  if (silent === undefined) return undefined
  const { frame, frameMs } = silent
  return {
    contentType: 'audio/mpeg',
    header: () => Buffer.alloc(0),
    chunk: (fromMs, toMs) => {
      const frames = Math.round(toMs / frameMs) - Math.round(fromMs / frameMs)
      const out = Buffer.allocUnsafe(frames * frame.length)
      for (let i = 0; i < frames; i++) frame.copy(out, i * frame.length)
      return out
    },
  }
}

/** OpenAI speech `response_format`s the simulator produces: PCM is 24 kHz 16-bit mono, as OpenAI's is. */
export function openaiEncoder(format: string): AudioEncoder | undefined {
  if (format === 'wav') return pcm(24_000, 'audio/wav', true)
  if (format === 'pcm') return pcm(24_000, 'audio/pcm', false)
  if (format === 'mp3') return mp3(24_000, 64)
  return undefined
}

export const OPENAI_FORMATS = ['wav', 'pcm', 'mp3']

/** ElevenLabs `output_format`s: `pcm_<rate>`, `ulaw_8000`, `mp3_<rate>_<kbps>`. */
export function elevenlabsEncoder(format: string): AudioEncoder | undefined {
  const [codec, rateText, kbpsText] = format.split('_')
  const rate = Number(rateText)
  if (codec === 'pcm' && [8000, 16000, 22050, 24000, 44100, 48000].includes(rate) && kbpsText === undefined) return pcm(rate, 'audio/pcm', false)
  if (codec === 'ulaw' && rate === 8000 && kbpsText === undefined) return mulaw(8000)
  if (codec === 'mp3') return mp3(rate, Number(kbpsText))
  return undefined
}

/** Milliseconds a voice takes to say `text` at `charsPerS` (and `speed`), at least 300. */
export function speechMs(text: string, charsPerS: number, speed = 1): number {
  return Math.max(300, (text.length / charsPerS / speed) * 1000)
}
