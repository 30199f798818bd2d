/**
 * The protobuf wire format, as much of it as OTLP needs: a reader over one message's bytes that yields its fields,
 * and a writer for the small replies the receiver sends. Every length is checked against what is left, so a
 * malformed body ends in a WireError naming the offset, never in a read past the end or a huge allocation.
 */

export class WireError extends Error {}

/** A field as it was on the wire: varint and fixed values as bigint, length-delimited ones as a sub-view. */
export type WireValue = { wire: 0 | 1 | 5; value: bigint } | { wire: 2; bytes: Uint8Array }

export class WireReader {
  private pos = 0

  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length
  }

  /** The next field's number and value; groups (wire types 3 and 4, unused by proto3) are an error. */
  next(): { field: number; value: WireValue } {
    const at = this.pos
    const key = this.varint()
    const field = Number(key >> 3n)
    const wire = Number(key & 7n)
    if (field === 0) throw new WireError(`field number 0 at byte ${at}`)
    switch (wire) {
      case 0:
        return { field, value: { wire: 0, value: this.varint() } }
      case 1:
        return { field, value: { wire: 1, value: this.fixed(8) } }
      case 2: {
        const length = Number(this.varint())
        if (length > this.buf.length - this.pos) throw new WireError(`a length of ${length} at byte ${at} runs past the end of its message`)
        const bytes = this.buf.subarray(this.pos, this.pos + length)
        this.pos += length
        return { field, value: { wire: 2, bytes } }
      }
      case 5:
        return { field, value: { wire: 5, value: this.fixed(4) } }
      default:
        throw new WireError(`wire type ${wire} at byte ${at} is not one protobuf 3 uses`)
    }
  }

  private varint(): bigint {
    let result = 0n
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw new WireError(`a varint runs past the end at byte ${this.pos}`)
      const byte = this.buf[this.pos++] as number
      result |= BigInt(byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return result
    }
    throw new WireError(`a varint longer than 10 bytes at byte ${this.pos}`)
  }

  private fixed(size: 4 | 8): bigint {
    if (this.pos + size > this.buf.length) throw new WireError(`a fixed${size * 8} runs past the end at byte ${this.pos}`)
    let result = 0n
    for (let i = size - 1; i >= 0; i--) result = (result << 8n) | BigInt(this.buf[this.pos + i] as number)
    this.pos += size
    return result
  }
}

/** Reads every field of a message, calling `on` with each; unknown fields are skipped, as protobuf requires. */
export function readMessage(bytes: Uint8Array, on: (field: number, value: WireValue) => void): void {
  const reader = new WireReader(bytes)
  while (!reader.done) {
    const { field, value } = reader.next()
    on(field, value)
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true })

export function asString(value: WireValue, what: string): string {
  if (value.wire !== 2) throw new WireError(`${what} is not length-delimited`)
  try {
    return decoder.decode(value.bytes)
  } catch {
    throw new WireError(`${what} is not valid UTF-8`)
  }
}

export function asBytes(value: WireValue, what: string): Uint8Array {
  if (value.wire !== 2) throw new WireError(`${what} is not length-delimited`)
  return value.bytes
}

export function asInt(value: WireValue, what: string): bigint {
  if (value.wire === 2) throw new WireError(`${what} is length-delimited, a number was expected`)
  return value.value
}

/** A signed 64-bit integer from its two's-complement varint. */
export function asInt64(value: WireValue, what: string): bigint {
  return BigInt.asIntN(64, asInt(value, what))
}

export function asDouble(value: WireValue, what: string): number {
  if (value.wire !== 1) throw new WireError(`${what} is not a fixed64 double`)
  const view = new DataView(new ArrayBuffer(8))
  view.setBigUint64(0, value.value, true)
  return view.getFloat64(0, true)
}

/** Writes the one message the receiver answers with besides an empty success: a google.rpc.Status. */
export class WireWriter {
  private readonly parts: number[] = []

  varintField(field: number, value: number | bigint): this {
    this.varint(BigInt(field << 3))
    this.varint(BigInt.asUintN(64, BigInt(value)))
    return this
  }

  stringField(field: number, value: string): this {
    const bytes = new TextEncoder().encode(value)
    this.varint(BigInt((field << 3) | 2))
    this.varint(BigInt(bytes.length))
    for (const b of bytes) this.parts.push(b)
    return this
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts)
  }

  private varint(value: bigint): void {
    let v = value
    do {
      let byte = Number(v & 0x7fn)
      v >>= 7n
      if (v > 0n) byte |= 0x80
      this.parts.push(byte)
    } while (v > 0n)
  }
}
