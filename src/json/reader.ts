/**
 * Walks a large JSON document without building it: the caller visits object members and array
 * elements and JSON.parses only the values it needs, skipping the rest. Input comes from a
 * file in chunks through a sliding window, so a 100 MB report is never held whole in memory
 * (neither as text nor as a full object tree); only the value being read must fit the window.
 */
import { closeSync, openSync, readSync } from 'node:fs'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const COMMA = 0x2c
const COLON = 0x3a

export const BYTES = { OPEN_OBJECT, OPEN_ARRAY }

const CHUNK_BYTES = 1 << 20

export class JsonSyntaxError extends Error {}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09
}

/** Reads into `into` from `at`, returns the bytes read (0 at the end of input). */
type ReadMore = (into: Buffer, at: number) => number

export class JsonReader {
  /** Storage; `view` is its loaded part, bytes [0, end). */
  private storage: Buffer
  private view: Buffer
  /** Byte offset in the input of view[0], for messages. */
  private base = 0
  /** Index in `view` of the next unread byte; everything before it may be dropped. */
  private pos = 0
  private readonly readMore?: ReadMore

  private constructor(storage: Buffer, loaded: number, readMore?: ReadMore) {
    this.storage = storage
    this.view = storage.subarray(0, loaded)
    this.readMore = readMore
  }

  /** A document already in memory. */
  static fromBuffer(buf: Buffer): JsonReader {
    return new JsonReader(buf, buf.length)
  }

  /** Reads the file at `path` a chunk at a time while `read` walks it; the file is closed after. */
  static withFile<T>(path: string, read: (reader: JsonReader) => T, chunkBytes = CHUNK_BYTES): T {
    const fd = openSync(path, 'r')
    try {
      const readMore: ReadMore = (into, at) => readSync(fd, into, at, into.length - at, null)
      return read(new JsonReader(Buffer.allocUnsafe(chunkBytes), 0, readMore))
    } finally {
      closeSync(fd)
    }
  }

  /**
   * Loads more input after dropping the bytes before `pos` (growing the window when the value
   * being read fills it). Returns how far view indices moved down, or -1 when nothing moved
   * and nothing more could be read (the end of input).
   */
  private more(): number {
    if (!this.readMore) return -1
    const shift = this.pos
    const loaded = this.view.length - shift
    if (shift > 0) {
      this.storage.copyWithin(0, shift, this.view.length)
      this.base += shift
      this.pos = 0
    }
    if (loaded === this.storage.length) {
      const bigger = Buffer.allocUnsafe(this.storage.length * 2)
      this.storage.copy(bigger, 0, 0, loaded)
      this.storage = bigger
    }
    const read = this.readMore(this.storage, loaded)
    this.view = this.storage.subarray(0, loaded + read)
    return read === 0 && shift === 0 ? -1 : shift
  }

  private where(i: number): string {
    return `byte ${this.base + i}`
  }

  /** Index of the first non-space byte at or after `i`, or view.length at the end of input. */
  private skipSpaceFrom(i: number): number {
    for (;;) {
      while (i < this.view.length && isSpace(this.view[i])) i++
      if (i < this.view.length) return i
      this.pos = i
      if (this.more() < 0) return this.view.length
      i = this.pos
    }
  }

  /** The next non-space byte without consuming it; -1 at the end of input. */
  peek(): number {
    this.pos = this.skipSpaceFrom(this.pos)
    return this.pos < this.view.length ? this.view[this.pos] : -1
  }

  atEnd(): boolean {
    return this.peek() < 0
  }

  private expect(byte: number): void {
    if (this.peek() !== byte) {
      throw new JsonSyntaxError(
        this.pos >= this.view.length
          ? `unexpected end of JSON, expected \`${String.fromCharCode(byte)}\``
          : `expected \`${String.fromCharCode(byte)}\` at ${this.where(this.pos)}`
      )
    }
    this.pos++
  }

  /**
   * Index past the closing quote of the string opening at `i` (>= pos); jumps quote to quote
   * with the native search, as strings are most of a report. The string stays in the window.
   */
  private stringEnd(i: number): number {
    let from = i + 1
    for (;;) {
      const quote = this.view.indexOf(QUOTE, from)
      if (quote < 0) {
        from = this.view.length
        const shift = this.more()
        if (shift < 0) throw new JsonSyntaxError('unexpected end of JSON inside a string')
        i -= shift
        from -= shift
        continue
      }
      let backslashes = 0
      while (this.view[quote - 1 - backslashes] === BACKSLASH) backslashes++
      if (backslashes % 2 === 0) return quote + 1
      from = quote + 1
    }
  }

  /**
   * Index just past the value at `pos`. With `keep` the whole value stays in the window (to be
   * parsed); otherwise what is passed is dropped as it goes, so skipping needs no memory.
   */
  private valueEnd(keep: boolean): number {
    this.pos = this.skipSpaceFrom(this.pos)
    const start = this.pos
    const first = this.view[start]
    if (first === QUOTE) return this.stringEnd(start)
    if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
      let depth = 0
      let i = start
      for (;;) {
        if (i >= this.view.length) {
          if (!keep) this.pos = i
          const shift = this.more()
          if (shift < 0)
            throw new JsonSyntaxError('unexpected end of JSON inside an object or array')
          i -= shift
          continue
        }
        const b = this.view[i]
        if (b === QUOTE) {
          if (!keep) this.pos = i
          i = this.stringEnd(i)
          continue
        }
        if (b === OPEN_OBJECT || b === OPEN_ARRAY) depth++
        else if ((b === CLOSE_OBJECT || b === CLOSE_ARRAY) && --depth === 0) return i + 1
        i++
      }
    }
    let i = start
    for (;;) {
      if (i >= this.view.length) {
        const shift = this.more()
        if (shift < 0) break
        i -= shift
        continue
      }
      const b = this.view[i]
      if (isSpace(b) || b === COMMA || b === CLOSE_OBJECT || b === CLOSE_ARRAY) break
      i++
    }
    if (i === this.pos)
      throw new JsonSyntaxError(
        i >= this.view.length ? 'unexpected end of JSON' : `unexpected ${this.where(i)}`
      )
    return i
  }

  /** JSON.parse of the next value. */
  parseValue(): unknown {
    const end = this.valueEnd(true)
    const start = this.pos
    this.pos = end
    try {
      return JSON.parse(this.view.toString('utf8', start, end))
    } catch (error) {
      throw new JsonSyntaxError(
        `${(error as Error).message} (in the value at ${this.where(start)})`
      )
    }
  }

  skipValue(): void {
    this.pos = this.valueEnd(false)
  }

  /** Visits each member of the next object; `onMember(key)` must consume the member's value. */
  eachMember(onMember: (key: string) => void): void {
    this.expect(OPEN_OBJECT)
    if (this.peek() === CLOSE_OBJECT) {
      this.pos++
      return
    }
    for (;;) {
      if (this.peek() !== QUOTE)
        throw new JsonSyntaxError(`expected a key at ${this.where(this.pos)}`)
      const key = this.parseValue() as string
      this.expect(COLON)
      onMember(key)
      if (this.peek() === CLOSE_OBJECT) {
        this.pos++
        return
      }
      this.expect(COMMA)
    }
  }

  /** Visits each element of the next array; `onElement()` must consume the element. */
  eachElement(onElement: () => void): void {
    this.expect(OPEN_ARRAY)
    if (this.peek() === CLOSE_ARRAY) {
      this.pos++
      return
    }
    for (;;) {
      this.peek()
      onElement()
      if (this.peek() === CLOSE_ARRAY) {
        this.pos++
        return
      }
      this.expect(COMMA)
    }
  }

  /** Input offset of the next unread byte, for messages. */
  offset(): number {
    return this.base + this.pos
  }
}
