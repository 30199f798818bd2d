/** Milliseconds of uncompressed PCM audio in `bytes`. */
export function pcmMs(bytes: number, sampleRate: number, bytesPerSample: number, channels = 1): number {
  if (sampleRate <= 0 || bytesPerSample <= 0 || channels <= 0) return 0
  return (bytes / (sampleRate * bytesPerSample * channels)) * 1000
}

/** Decoded size of the base64 text in `data` from `start` to `end` (exclusive), its '=' padding counted. */
export function base64Bytes(data: Buffer, start: number, end: number): number {
  if (end <= start) return 0
  const padding = (data[end - 1] === 0x3d ? 1 : 0) + (end - 2 >= start && data[end - 2] === 0x3d ? 1 : 0)
  return Math.floor(((end - start) * 3) / 4) - padding
}

/**
 * Reads the byte rate from the first bytes of a RIFF/WAVE stream ("fmt " chunk), or 0 when they are not a WAV
 * header. Streamed WAVs often carry a placeholder data size, so duration comes from bytes counted, not the header.
 */
export function wavByteRate(head: Buffer): number {
  if (head.length < 36 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') return 0
  let offset = 12
  while (offset + 8 <= head.length) {
    const id = head.toString('latin1', offset, offset + 4)
    const size = head.readUInt32LE(offset + 4)
    if (id === 'fmt ' && offset + 20 <= head.length) return head.readUInt32LE(offset + 16)
    offset += 8 + size + (size % 2)
  }
  return 0
}

/** Where the samples of a RIFF/WAVE stream begin (after the "data" chunk's header), or 0 when the head does not show it. */
export function wavDataStart(head: Buffer): number {
  if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') return 0
  let offset = 12
  while (offset + 8 <= head.length) {
    if (head.toString('latin1', offset, offset + 4) === 'data') return offset + 8
    const size = head.readUInt32LE(offset + 4)
    offset += 8 + size + (size % 2)
  }
  return 0
}
