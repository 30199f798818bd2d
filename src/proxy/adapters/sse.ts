import { StringDecoder } from 'node:string_decoder'

/** An event line longer than this is not an event we understand; parsing stops (forwarding never does). */
const MAX_LINE_CHARS = 1024 * 1024

/**
 * Incremental Server-Sent Events reader: feed it body chunks as they pass, it calls back with each event's data.
 * It holds only the unfinished line, never the body.
 */
export class SseReader {
  private readonly decoder = new StringDecoder('utf8')
  private carry = ''
  private data = ''
  private hasData = false
  private gaveUp = false

  constructor(private readonly onEvent: (data: string) => void) {}

  push(chunk: Buffer): void {
    if (this.gaveUp) return
    const text = this.carry + this.decoder.write(chunk)
    let start = 0
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl
      this.line(text.slice(start, end))
      start = nl + 1
    }
    this.carry = start === 0 ? text : text.slice(start)
    if (this.carry.length > MAX_LINE_CHARS) {
      this.gaveUp = true
      this.carry = ''
    }
  }

  /** The body ended: an event not followed by a blank line still counts. */
  end(): void {
    if (this.carry.length > 0) this.line(this.carry)
    this.carry = ''
    this.line('')
  }

  private line(line: string): void {
    if (line.length === 0) {
      if (this.hasData) this.onEvent(this.data)
      this.data = ''
      this.hasData = false
      return
    }
    if (!line.startsWith('data:')) return // comments, event:, id:, retry: do not mark moments
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5)
    this.data = this.hasData ? `${this.data}\n${value}` : value
    this.hasData = true
  }
}
