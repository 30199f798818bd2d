/** A part of a multipart/form-data body as it streamed past: its field name, its size and its first bytes. */
export interface PartSeen {
  name: string
  filename: string | undefined
  /** the part's body size in bytes */
  bytes: number
  /** its first bytes (up to HEAD_BYTES): a small field's whole value, a file's header */
  head: Buffer
}

const HEAD_BYTES = 256
/** part headers longer than this are not a form an adapter can read: the scan stops */
const MAX_HEADER_BYTES = 16 * 1024

/** The boundary of a multipart content type, or undefined. */
export function multipartBoundary(contentType: string | string[] | undefined): string | undefined {
  const value = Array.isArray(contentType) ? contentType[0] : contentType
  if (value === undefined || !/^multipart\/form-data/i.test(value)) return undefined
  const m = /boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(value)
  return m?.[1] ?? m?.[2]
}

/**
 * Reads a multipart/form-data body chunk by chunk without keeping it: each part is reported with its size and first
 * bytes (a transcription's `model` field, its audio file's WAV header). Memory stays bounded by the part headers and
 * a delimiter's length, whatever the upload's size; a body that is not well-formed simply stops being read.
 */
export class MultipartScanner {
  private readonly delimiter: Buffer
  /** bytes not yet consumed: part headers being collected, or the tail that may hold the start of a delimiter */
  private pending: Buffer
  private state: 'delimiter' | 'after-delimiter' | 'headers' | 'body' | 'done' = 'delimiter'
  private part: { name: string; filename: string | undefined; bytes: number; head: Buffer[]; headBytes: number } | undefined

  constructor(
    boundary: string,
    private readonly onPart: (part: PartSeen) => void,
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`)
    // the body's first delimiter has no CRLF before it
    this.pending = Buffer.from('\r\n')
  }

  push(chunk: Buffer): void {
    if (this.state === 'done') return
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk
    this.pending = Buffer.alloc(0)
    for (;;) {
      if (this.state === 'delimiter' || this.state === 'body') {
        const at = data.indexOf(this.delimiter)
        if (at === -1) {
          // keep what could be the start of a delimiter; the rest is the part's body
          const keep = Math.min(data.length, this.delimiter.length - 1)
          this.body(data.subarray(0, data.length - keep))
          this.pending = Buffer.from(data.subarray(data.length - keep))
          return
        }
        this.body(data.subarray(0, at))
        this.endPart()
        data = data.subarray(at + this.delimiter.length)
        this.state = 'after-delimiter'
      }
      if (this.state === 'after-delimiter') {
        if (data.length < 2) {
          this.pending = Buffer.from(data)
          return
        }
        if (data[0] === 0x2d && data[1] === 0x2d) return void (this.state = 'done') // "--": the closing delimiter
        const eol = data.indexOf('\r\n')
        if (eol === -1) {
          this.pending = Buffer.from(data)
          return
        }
        data = data.subarray(eol + 2) // transport padding and CRLF
        this.state = 'headers'
      }
      if (this.state === 'headers') {
        const end = data.indexOf('\r\n\r\n')
        if (end === -1) {
          if (data.length > MAX_HEADER_BYTES) return void (this.state = 'done')
          this.pending = Buffer.from(data)
          return
        }
        const headers = data.toString('latin1', 0, end)
        const disposition = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? ''
        this.part = { name: /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? '', filename: /\bfilename="([^"]*)"/i.exec(disposition)?.[1], bytes: 0, head: [], headBytes: 0 }
        data = data.subarray(end + 4)
        this.state = 'body'
      }
    }
  }

  private body(bytes: Buffer): void {
    const part = this.part
    if (part === undefined || bytes.length === 0) return
    part.bytes += bytes.length
    if (part.headBytes < HEAD_BYTES) {
      const take = bytes.subarray(0, HEAD_BYTES - part.headBytes)
      part.head.push(Buffer.from(take))
      part.headBytes += take.length
    }
  }

  private endPart(): void {
    const part = this.part
    this.part = undefined
    if (part !== undefined) this.onPart({ name: part.name, filename: part.filename, bytes: part.bytes, head: Buffer.concat(part.head) })
  }
}
