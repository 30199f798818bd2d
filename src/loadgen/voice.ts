import { readFile } from 'node:fs/promises'
import { speechPcm } from '../sim/audio.js'

/** What a caller says: 16-bit mono PCM at `sampleRate`. */
export interface Utterance {
  pcm: Buffer
  sampleRate: number
  ms: number
}

const files = new Map<string, Promise<Utterance>>()

/** Reads a 16-bit PCM mono WAV once; other encodings are refused with a message that says what to send instead. */
async function readWav(path: string): Promise<Utterance> {
  const file = await readFile(path)
  if (file.toString('latin1', 0, 4) !== 'RIFF' || file.toString('latin1', 8, 12) !== 'WAVE') throw new Error(`${path} is not a WAV file; give a 16-bit PCM mono WAV`)
  let offset = 12
  let sampleRate = 0
  let format = 0
  let channels = 0
  let bits = 0
  while (offset + 8 <= file.length) {
    const id = file.toString('latin1', offset, offset + 4)
    const size = file.readUInt32LE(offset + 4)
    if (id === 'fmt ') {
      format = file.readUInt16LE(offset + 8)
      channels = file.readUInt16LE(offset + 10)
      sampleRate = file.readUInt32LE(offset + 12)
      bits = file.readUInt16LE(offset + 22)
    }
    if (id === 'data') {
      if (format !== 1 || channels !== 1 || bits !== 16) throw new Error(`${path} is ${bits}-bit, ${channels} channel(s), format ${format}; give a 16-bit PCM mono WAV`)
      const pcm = file.subarray(offset + 8, offset + 8 + Math.min(size, file.length - offset - 8))
      return { pcm, sampleRate, ms: (pcm.length / 2 / sampleRate) * 1000 }
    }
    offset += 8 + size + (size % 2)
  }
  throw new Error(`${path} has no data chunk`)
}

/** The caller's audio for a sentence: the WAV file when the scenario names one, else speech-like audio at the persona's pace. */
export function utterance(text: string, wordsPerS: number, sampleRate: number, wav: string | undefined): Promise<Utterance> {
  if (wav !== undefined) {
    let cached = files.get(wav)
    if (cached === undefined) files.set(wav, (cached = readWav(wav)))
    return cached
  }
  const wordCount = text.split(/\s+/).filter((w) => w !== '').length
  const ms = Math.max(300, (wordCount / wordsPerS) * 1000)
  return Promise.resolve({ pcm: speechPcm(sampleRate, ms), sampleRate, ms })
}

/**
 * Sends audio as a live stream: a frame every 20 ms of the (time-scaled) clock, each carrying 20 ms × timeScale of
 * audio, so a compressed run sends the same audio in fewer seconds without sending more messages per second.
 * Pacing is against the clock, so a late timer does not stretch the stream. Resolves false when aborted.
 */
export async function streamFrames(pcm: Buffer, sampleRate: number, timeScale: number, send: (frame: Buffer) => void, signal: AbortSignal): Promise<boolean> {
  const frameBytes = Math.max(1, Math.round(sampleRate * 0.02 * timeScale)) * 2
  const started = performance.now()
  let sent = 0
  for (let at = 0; at < pcm.length; at += frameBytes) {
    if (signal.aborted) return false
    send(pcm.subarray(at, Math.min(pcm.length, at + frameBytes)))
    sent++
    // a live frame is sent once its audio has been spoken: the last one marks the end of the user's speech
    if (at + frameBytes >= pcm.length) break
    const wait = started + sent * 20 - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  }
  return !signal.aborted
}
