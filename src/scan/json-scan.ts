/**
 * Byte-level helpers to walk a large JSON document without building it: find where a value
 * ends, read object keys, step over separators. The caller JSON.parses only the slices it
 * needs, so a 100 MB report never exists twice in memory (text plus full object tree).
 */

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const COMMA = 0x2c
const COLON = 0x3a

export class JsonSyntaxError extends Error {}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09
}

export function skipSpace(buf: Buffer, at: number): number {
  while (at < buf.length && isSpace(buf[at])) at++
  return at
}

export function expectByte(buf: Buffer, at: number, byte: number): number {
  at = skipSpace(buf, at)
  if (buf[at] !== byte) {
    throw new JsonSyntaxError(
      at >= buf.length
        ? `unexpected end of JSON, expected \`${String.fromCharCode(byte)}\``
        : `expected \`${String.fromCharCode(byte)}\` at byte ${at}`
    )
  }
  return at + 1
}

/** Index past the closing quote; jumps quote to quote with the native search (strings are most of a report). */
function stringEnd(buf: Buffer, at: number): number {
  let from = at + 1
  for (;;) {
    const quote = buf.indexOf(QUOTE, from)
    if (quote < 0) throw new JsonSyntaxError('unexpected end of JSON inside a string')
    let backslashes = 0
    while (buf[quote - 1 - backslashes] === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return quote + 1
    from = quote + 1
  }
}

/** Index just past the value that starts at `at` (after white space). */
export function valueEnd(buf: Buffer, at: number): number {
  at = skipSpace(buf, at)
  const first = buf[at]
  if (first === QUOTE) return stringEnd(buf, at)
  if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
    let depth = 0
    for (let i = at; i < buf.length; i++) {
      const b = buf[i]
      if (b === QUOTE) i = stringEnd(buf, i) - 1
      else if (b === OPEN_OBJECT || b === OPEN_ARRAY) depth++
      else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        if (--depth === 0) return i + 1
      }
    }
    throw new JsonSyntaxError('unexpected end of JSON inside an object or array')
  }
  let i = at
  while (
    i < buf.length &&
    !isSpace(buf[i]) &&
    buf[i] !== COMMA &&
    buf[i] !== CLOSE_OBJECT &&
    buf[i] !== CLOSE_ARRAY
  )
    i++
  if (i === at)
    throw new JsonSyntaxError(
      at >= buf.length ? 'unexpected end of JSON' : `unexpected byte at ${at}`
    )
  return i
}

/** JSON.parse of one value's bytes. */
export function parseSlice(buf: Buffer, start: number, end: number): unknown {
  try {
    return JSON.parse(buf.toString('utf8', start, end))
  } catch (error) {
    throw new JsonSyntaxError(`${(error as Error).message} (in the value at byte ${start})`)
  }
}

/**
 * Visits each member of the object starting at `at`: `onMember(key, valueStart)` returns the
 * index just past the value (having parsed or skipped it). Returns the index past the `}`.
 */
export function eachMember(
  buf: Buffer,
  at: number,
  onMember: (key: string, valueAt: number) => number
): number {
  at = expectByte(buf, at, OPEN_OBJECT)
  at = skipSpace(buf, at)
  if (buf[at] === CLOSE_OBJECT) return at + 1
  for (;;) {
    at = skipSpace(buf, at)
    if (buf[at] !== QUOTE) throw new JsonSyntaxError(`expected a key at byte ${at}`)
    const keyEnd = stringEnd(buf, at)
    const key = parseSlice(buf, at, keyEnd) as string
    at = onMember(key, expectByte(buf, keyEnd, COLON))
    at = skipSpace(buf, at)
    if (buf[at] === CLOSE_OBJECT) return at + 1
    at = expectByte(buf, at, COMMA)
  }
}

/** Visits each element of the array starting at `at`; `onElement` returns the index past it. */
export function eachElement(
  buf: Buffer,
  at: number,
  onElement: (elementAt: number) => number
): number {
  at = expectByte(buf, at, OPEN_ARRAY)
  at = skipSpace(buf, at)
  if (buf[at] === CLOSE_ARRAY) return at + 1
  for (;;) {
    at = onElement(skipSpace(buf, at))
    at = skipSpace(buf, at)
    if (buf[at] === CLOSE_ARRAY) return at + 1
    at = expectByte(buf, at, COMMA)
  }
}

export function startsWith(buf: Buffer, at: number, byte: number): boolean {
  return buf[skipSpace(buf, at)] === byte
}

export const BYTES = { OPEN_OBJECT, OPEN_ARRAY }
