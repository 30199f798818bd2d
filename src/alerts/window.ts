/**
 * The values seen in the last `windowUs`, at most `max` of them (the oldest go first when more arrive): a sliding
 * window whose memory is bounded whatever the traffic.
 */
export class SlidingWindow {
  private readonly at: Float64Array
  private readonly values: Float64Array
  private head = 0
  private size = 0

  constructor(
    private readonly windowUs: number,
    private readonly max = 20_000,
  ) {
    this.at = new Float64Array(max)
    this.values = new Float64Array(max)
  }

  push(atUs: number, value: number): void {
    const i = (this.head + this.size) % this.max
    this.at[i] = atUs
    this.values[i] = value
    if (this.size < this.max) this.size++
    else this.head = (this.head + 1) % this.max
  }

  /** Drops what is older than the window at `nowUs`, and returns what is left. */
  current(nowUs: number): number[] {
    while (this.size > 0 && (this.at[this.head] as number) < nowUs - this.windowUs) {
      this.head = (this.head + 1) % this.max
      this.size--
    }
    const out = new Array<number>(this.size)
    for (let k = 0; k < this.size; k++) out[k] = this.values[(this.head + k) % this.max] as number
    return out
  }

  /** The points still in the window, with their times in seconds since the first. */
  points(nowUs: number): Array<{ t: number; value: number }> {
    const values = this.current(nowUs)
    const t0 = this.at[this.head] as number
    return values.map((value, k) => ({ t: ((this.at[(this.head + k) % this.max] as number) - t0) / 1e6, value }))
  }
}

/** A sliding window per key (a component, a target), made when the key is first seen. */
export class KeyedWindows {
  private readonly windows = new Map<string, SlidingWindow>()

  constructor(
    private readonly windowUs: number,
    private readonly max?: number,
  ) {}

  push(key: string, atUs: number, value: number): void {
    let w = this.windows.get(key)
    if (w === undefined) this.windows.set(key, (w = new SlidingWindow(this.windowUs, this.max)))
    w.push(atUs, value)
  }

  entries(): Array<[string, SlidingWindow]> {
    return [...this.windows]
  }
}
