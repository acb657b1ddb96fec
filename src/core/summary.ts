/** Builds a job summary in Markdown; the same text is printed by the CLI. */

/** GitHub rejects a step summary over 1 MiB; stay well below it. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024 - 64 * 1024

export function escapeCell(value: unknown): string {
  return String(value ?? '')
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, '<br>')
}

export class Summary {
  private readonly parts: string[] = []

  heading(text: string, level = 2): this {
    this.parts.push(`${'#'.repeat(level)} ${text}\n`)
    return this
  }

  paragraph(text: string): this {
    this.parts.push(`${text}\n`)
    return this
  }

  table(header: string[], rows: unknown[][]): this {
    if (rows.length === 0) return this
    const lines = [
      `| ${header.map(escapeCell).join(' | ')} |`,
      `| ${header.map(() => '---').join(' | ')} |`,
      ...rows.map((r) => `| ${r.map(escapeCell).join(' | ')} |`)
    ]
    this.parts.push(`${lines.join('\n')}\n`)
    return this
  }

  /** A key/value table, the usual shape for "what was decided". */
  facts(entries: [string, unknown][]): this {
    return this.table(['', ''], entries)
  }

  list(items: string[]): this {
    if (items.length > 0) this.parts.push(`${items.map((i) => `- ${i}`).join('\n')}\n`)
    return this
  }

  details(title: string, body: string): this {
    this.parts.push(`<details><summary>${title}</summary>\n\n${body}\n\n</details>\n`)
    return this
  }

  code(text: string, lang = ''): this {
    this.parts.push(`\`\`\`${lang}\n${text}\n\`\`\`\n`)
    return this
  }

  toMarkdown(limitBytes = SUMMARY_LIMIT_BYTES): string {
    return truncateUtf8(this.parts.join('\n'), limitBytes)
  }
}

/** Cuts Markdown to at most `limit` bytes at a line boundary, saying that it did. */
export function truncateUtf8(text: string, limit: number): string {
  if (Buffer.byteLength(text) <= limit) return text
  const note =
    '\n\n_… summary truncated to stay under GitHub’s 1 MiB limit; see the full report file._\n'
  let cut = Buffer.from(text)
    .subarray(0, limit - Buffer.byteLength(note))
    .toString('utf8')
  cut = cut.replace(/\uFFFD$/, '')
  const lastNewline = cut.lastIndexOf('\n')
  if (lastNewline > 0) cut = cut.slice(0, lastNewline)
  return cut + note
}
