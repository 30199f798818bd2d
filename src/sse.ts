import { StringDecoder } from 'node:string_decoder'

/** An event line longer than this is not an event we understand; parsing stops (forwarding never does). */
const MAX_LINE_CHARS = 1024 * 1024

/**
 * Incremental Server-Sent Events reader (the WHATWG event-stream rules for `data:`): feed it body chunks as they
 * come, it calls back with each event's data. UTF-8 characters split across chunks are joined, lines end in LF, CRLF
 * or CR, several `data:` lines of one event are joined with "\n", and comments and other fields are skipped. It holds
 * only the unfinished line, never the body, and each byte is scanned once however the stream is cut. One reader
 * serves the proxy's adapters and the load generator.
 */
export class SseReader {
  private readonly decoder = new StringDecoder('utf8')
  /** the unfinished line, in the pieces it came in */
  private carry: string[] = []
  private carryChars = 0
  /** the last chunk ended in CR: an LF that starts the next one belongs to it */
  private afterCr = false
  private data = ''
  private hasData = false
  private gaveUp = false

  constructor(private readonly onEvent: (data: string) => void) {}

  push(chunk: Buffer): void {
    if (this.gaveUp) return
    const text = this.decoder.write(chunk)
    let start = 0
    if (this.afterCr && text.charCodeAt(0) === 10) start = 1
    this.afterCr = false
    // where the next LF and CR are (-1: none left in this chunk), each searched again only once passed
    let lf = text.indexOf('\n', start)
    let cr = text.indexOf('\r', start)
    while (lf !== -1 || cr !== -1) {
      const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr
      const piece = text.slice(start, end)
      const line = this.carryChars === 0 ? piece : this.carry.join('') + piece
      this.carry = []
      this.carryChars = 0
      this.line(line)
      start = end + 1
      if (end === cr) {
        if (start === text.length) this.afterCr = true
        else if (text.charCodeAt(start) === 10) start++
      }
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start)
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start)
    }
    if (start < text.length) {
      this.carry.push(text.slice(start))
      this.carryChars += text.length - start
      if (this.carryChars > MAX_LINE_CHARS) {
        this.gaveUp = true
        this.carry = []
      }
    }
  }

  /** The body ended: an event not followed by a blank line still counts. */
  end(): void {
    if (this.gaveUp) return
    const rest = this.carry.join('') + this.decoder.end()
    this.carry = []
    this.carryChars = 0
    if (rest.length > 0) this.line(rest)
    this.line('')
  }

  private line(line: string): void {
    if (line.length === 0) {
      if (this.hasData) this.onEvent(this.data)
      this.data = ''
      this.hasData = false
      return
    }
    if (!line.startsWith('data')) return // comments, event:, id:, retry: do not mark moments
    if (line.length > 4 && line.charCodeAt(4) !== 58) return // a field named data…, not data
    const value = line.length === 4 ? '' : line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5)
    this.data = this.hasData ? `${this.data}\n${value}` : value
    this.hasData = true
  }
}
