/**
 * Lines of a SQL script as psql reads them: split on `\n` only (psql's fgets), so the pre-scan
 * and psql always agree on what line N is; a `\r` stays inside its line.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'

export async function* scriptLines(input: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8')
  let rest = ''
  for await (const chunk of input as AsyncIterable<Buffer>) {
    const parts = (rest + decoder.write(chunk)).split('\n')
    rest = parts.pop() ?? ''
    yield* parts
  }
  rest += decoder.end()
  if (rest) yield rest
}

/**
 * Replaces the given lines (1-based) with empty ones, keeping every other byte and so psql's
 * line numbers. Chunks without a line to blank pass through untouched.
 */
export class BlankLines extends Transform {
  private line = 1
  private blanking = false
  private readonly targets: Set<number>
  private readonly last: number

  constructor(lines: number[]) {
    super()
    this.targets = new Set(lines)
    // No spread: a dump can have a hundred thousand lines to blank.
    this.last = lines.reduce((a, b) => Math.max(a, b), 0)
    this.blanking = this.targets.has(1)
  }

  override _transform(chunk: Buffer, _: BufferEncoding, done: TransformCallback): void {
    if (!this.blanking && this.line > this.last) return done(null, chunk)
    const out: Buffer[] = []
    let start = 0
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) {
      if (!this.blanking) out.push(chunk.subarray(start, i + 1))
      else out.push(Buffer.from('\n'))
      start = i + 1
      this.line++
      this.blanking = this.targets.has(this.line)
    }
    if (!this.blanking) out.push(chunk.subarray(start))
    done(null, Buffer.concat(out))
  }
}
