/**
 * When each stretch of a live audio stream passed the proxy: maps a position in the audio (ms from the stream's
 * start, as a provider's results give it) back to the wall-clock moment the frame holding it was relayed. A live STT's
 * latency runs from the end of speech, which only the provider's word timings locate; this turns them into moments.
 * Bounded: it remembers the last `capacity` frames (4,096 frames of 20 ms is over a minute of audio).
 */
export class AudioTimeline {
  private readonly endMs: Float64Array
  private readonly atUs: Float64Array
  private oldest = 0
  private size = 0
  private totalMs = 0
  /** the audio before this position is forgotten */
  private forgottenMs = 0

  constructor(private readonly capacity = 4096) {
    this.endMs = new Float64Array(capacity)
    this.atUs = new Float64Array(capacity)
  }

  /** Audio relayed so far, ms. */
  get durationMs(): number {
    return this.totalMs
  }

  /** A frame of `ms` of audio passed at `atUs`. */
  push(ms: number, atUs: number): void {
    if (!(ms > 0)) return
    this.totalMs += ms
    let i: number
    if (this.size < this.capacity) i = (this.oldest + this.size++) % this.capacity
    else {
      i = this.oldest
      this.forgottenMs = this.endMs[i]!
      this.oldest = (this.oldest + 1) % this.capacity
    }
    this.endMs[i] = this.totalMs
    this.atUs[i] = atUs
  }

  /**
   * The moment the audio at `positionMs` passed: that of the frame holding the audio just after it (`edge` 'start':
   * where something began) or just before it ('end': where something ended), half a millisecond of rounding allowed.
   * Undefined when the position is before the frames remembered; a position past the audio relayed (a provider's
   * rounding) maps to the last frame.
   */
  momentOf(positionMs: number, edge: 'start' | 'end'): number | undefined {
    if (this.size === 0 || !Number.isFinite(positionMs)) return undefined
    const at = (k: number) => (this.oldest + k) % this.capacity
    if (positionMs < this.forgottenMs - 0.5) return undefined
    // the first frame ending past the position (a start) or at it (an end)
    const bound = edge === 'start' ? positionMs + 0.5 : positionMs - 0.5
    let lo = 0
    let hi = this.size - 1
    if (this.endMs[at(hi)]! < bound) return this.atUs[at(hi)]
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.endMs[at(mid)]! >= bound) hi = mid
      else lo = mid + 1
    }
    return this.atUs[at(lo)]
  }
}
