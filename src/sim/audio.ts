/**
 * Audio the simulator sends and reads: speech-like PCM of a given duration, WAV and MP3 framing, and a voice-activity
 * detector over 16-bit PCM (for endpointing and server VAD).
 */

/** A WAV header for 16-bit mono PCM at `rate` with `dataBytes` of samples after it. */
export function wavHeader(rate: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(44)
  h.write('RIFF', 0, 'latin1')
  h.writeUInt32LE(36 + dataBytes, 4)
  h.write('WAVE', 8, 'latin1')
  h.write('fmt ', 12, 'latin1')
  h.writeUInt32LE(16, 16)
  h.writeUInt16LE(1, 20)
  h.writeUInt16LE(1, 22)
  h.writeUInt32LE(rate, 24)
  h.writeUInt32LE(rate * 2, 28)
  h.writeUInt16LE(2, 32)
  h.writeUInt16LE(16, 34)
  h.write('data', 36, 'latin1')
  h.writeUInt32LE(dataBytes, 40)
  return h
}

/** Duration in ms of a WAV file's samples, or undefined when the bytes are not a PCM WAV. */
export function wavDurationMs(file: Buffer): number | undefined {
  if (file.length < 12 || file.toString('latin1', 0, 4) !== 'RIFF' || file.toString('latin1', 8, 12) !== 'WAVE') return undefined
  let byteRate = 0
  let offset = 12
  while (offset + 8 <= file.length) {
    const id = file.toString('latin1', offset, offset + 4)
    const size = file.readUInt32LE(offset + 4)
    if (id === 'fmt ' && offset + 20 <= file.length) byteRate = file.readUInt32LE(offset + 16)
    if (id === 'data') {
      if (byteRate === 0) return undefined
      // a streamed WAV may carry a placeholder size: count what is there
      const bytes = Math.min(size, file.length - offset - 8)
      return (bytes / byteRate) * 1000
    }
    offset += 8 + size + (size % 2)
  }
  return undefined
}

const cache = new Map<number, Buffer>()

/**
 * One second of speech-like 16-bit mono PCM at `rate`: a voiced tone whose pitch and loudness move at syllable rate,
 * so a voice-activity detector hears speech. Computed once per rate and sliced.
 */
function speechSecond(rate: number): Buffer {
  let second = cache.get(rate)
  if (second === undefined) {
    second = Buffer.alloc(rate * 2)
    for (let i = 0; i < rate; i++) {
      const t = i / rate
      const syllable = 0.55 + 0.45 * Math.sin(2 * Math.PI * 4 * t)
      const pitch = 140 + 30 * Math.sin(2 * Math.PI * 1.5 * t)
      const v = Math.sin(2 * Math.PI * pitch * t) + 0.4 * Math.sin(4 * Math.PI * pitch * t)
      second.writeInt16LE(Math.round(6000 * syllable * v), i * 2)
    }
    cache.set(rate, second)
  }
  return second
}

/** `ms` of speech-like 16-bit mono PCM at `rate`, starting `offsetMs` into the voice. */
export function speechPcm(rate: number, ms: number, offsetMs = 0): Buffer {
  const second = speechSecond(rate)
  const bytes = Math.round((rate * ms) / 1000) * 2
  let from = (Math.round((rate * offsetMs) / 1000) * 2) % second.length
  const out = Buffer.allocUnsafe(bytes)
  let written = 0
  while (written < bytes) {
    const n = Math.min(bytes - written, second.length - from)
    second.copy(out, written, from, from + n)
    written += n
    from = 0
  }
  return out
}

/** `ms` of digital silence in 16-bit mono PCM at `rate`. */
export function silencePcm(rate: number, ms: number): Buffer {
  return Buffer.alloc(Math.round((rate * ms) / 1000) * 2)
}

/** G.711 µ-law of 16-bit PCM (ITU-T G.711), for `ulaw_8000` output. */
export function pcmToMulaw(pcm: Buffer): Buffer {
  const out = Buffer.allocUnsafe(pcm.length >> 1)
  for (let i = 0; i < out.length; i++) {
    let s = pcm.readInt16LE(i * 2)
    const sign = s < 0 ? 0x80 : 0
    if (s < 0) s = -s
    s = Math.min(s, 32635) + 0x84
    let exponent = 7
    for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--
    const mantissa = (s >> (exponent + 3)) & 0x0f
    out[i] = ~(sign | (exponent << 4) | mantissa) & 0xff
  }
  return out
}

export interface Mp3Format {
  sampleRate: number
  kbps: number
}

const MPEG1_RATES = [44100, 48000, 32000]
const MPEG2_RATES = [22050, 24000, 16000]
const MPEG1_KBPS = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
const MPEG2_KBPS = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]

/**
 * One frame of silence in MPEG audio layer III (mono), and how long it plays: a frame whose side information is all
 * zero decodes to silence, so no encoder is needed. Undefined for a rate/bitrate pair MPEG does not define.
 */
export function silentMp3Frame(format: Mp3Format): { frame: Buffer; frameMs: number } | undefined {
  const mpeg1 = MPEG1_RATES.includes(format.sampleRate)
  const rateIndex = (mpeg1 ? MPEG1_RATES : MPEG2_RATES).indexOf(format.sampleRate)
  const kbpsIndex = (mpeg1 ? MPEG1_KBPS : MPEG2_KBPS).indexOf(format.kbps)
  if (rateIndex < 0 || kbpsIndex <= 0) return undefined
  const samplesPerFrame = mpeg1 ? 1152 : 576
  const frame = Buffer.alloc(Math.floor(((samplesPerFrame / 8) * format.kbps * 1000) / format.sampleRate))
  frame[0] = 0xff
  frame[1] = mpeg1 ? 0xfb : 0xf3 // sync, MPEG-1 or -2, layer III, no CRC
  frame[2] = (kbpsIndex << 4) | (rateIndex << 2)
  frame[3] = 0xc0 // mono
  return { frame, frameMs: (samplesPerFrame / format.sampleRate) * 1000 }
}

/**
 * A voice-activity detector over 16-bit little-endian PCM: a frame whose mean absolute amplitude passes the threshold
 * is speech. It reports when speech starts and when `silenceMs` of silence follows speech (an endpoint).
 */
export class SpeechDetector {
  private speaking = false
  private silentMs = 0
  private heardMs = 0
  private loudFromMs = 0
  private loudToMs = 0

  constructor(
    private readonly sampleRate: number,
    private readonly silenceMs: number,
    private readonly threshold = 300,
  ) {}

  /** Feeds one chunk; returns what happened in it. */
  push(pcm: Buffer): 'speech_started' | 'endpoint' | undefined {
    const samples = pcm.length >> 1
    if (samples === 0) return undefined
    const ms = (samples / this.sampleRate) * 1000
    this.heardMs += ms
    let sum = 0
    let counted = 0
    // every 4th sample is plenty to tell a voice from silence
    for (let i = 0; i + 1 < pcm.length; i += 8) {
      sum += Math.abs(pcm.readInt16LE(i))
      counted++
    }
    const loud = sum / Math.max(1, counted) >= this.threshold
    if (loud) {
      this.silentMs = 0
      this.loudToMs = this.heardMs
      if (!this.speaking) {
        this.speaking = true
        this.loudFromMs = this.heardMs - ms
        return 'speech_started'
      }
      return undefined
    }
    if (!this.speaking) return undefined
    this.silentMs += ms
    if (this.silentMs >= this.silenceMs) {
      this.speaking = false
      this.silentMs = 0
      return 'endpoint'
    }
    return undefined
  }

  get inSpeech(): boolean {
    return this.speaking
  }

  /** Where (ms into the audio) the latest stretch of speech began, and where its last loud chunk ended. */
  get speech(): { fromMs: number; toMs: number } {
    return { fromMs: this.loudFromMs, toMs: this.loudToMs }
  }

  /** Milliseconds of audio fed so far. */
  get audioMs(): number {
    return this.heardMs
  }
}
