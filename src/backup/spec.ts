/**
 * The small languages of backup-verify's inputs: table names, `min-rows` rules, named SQL
 * checks, `allow-errors` patterns, `created-at`. Pure: every error names the input and the
 * offending line and shows what is accepted.
 */
import { ConfigurationError } from '../core/errors.js'

export interface TableName {
  schema: string
  name: string
}

export interface MinRowsRule {
  table: TableName
  min: number
}

export interface SqlCheck {
  name: string
  sql: string
}

export interface ErrorPattern {
  /** As the user wrote it, for the report. */
  source: string
  matches(message: string): boolean
}

const shorten = (text: string): string => (text.length > 200 ? `${text.slice(0, 200)}…` : text)

/** For inputs of several lines: names the line at fault. */
function reject(input: string, line: string, accepted: string): never {
  throw new ConfigurationError(`input \`${input}\` line \`${shorten(line)}\`: ${accepted}`, input)
}

function rejectValue(input: string, value: string, accepted: string): never {
  throw new ConfigurationError(`input \`${input}\` = \`${shorten(value)}\`: ${accepted}`, input)
}

/** `schema.table`, `table` (schema public) or quoted `"My Schema"."Orders"`; unquoted names fold to lower case as in SQL. */
const IDENT = String.raw`"(?:[^"]|"")+"|[^."\s]+`
const QUALIFIED = new RegExp(`^(?:(${IDENT})\\.)?(${IDENT})$`)

function identifier(part: string): string {
  return part.startsWith('"') ? part.slice(1, -1).replace(/""/g, '"') : part.toLowerCase()
}

export function parseTableName(input: string, raw: string): TableName {
  const m = QUALIFIED.exec(raw.trim())
  if (!m) reject(input, raw, 'expected a table name such as `public.orders` or `orders`')
  return { schema: m[1] ? identifier(m[1]) : 'public', name: identifier(m[2]) }
}

export function formatTableName(t: TableName): string {
  const part = (s: string): string =>
    /^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`
  return `${part(t.schema)}.${part(t.name)}`
}

const MIN_ROWS_HELP = 'expected `table>=count`, such as `public.orders>=1000`'

export function parseMinRows(input: string, lines: string[]): MinRowsRule[] {
  return lines.map((line) => {
    const m = /^(.+?)\s*>=\s*(\d+)$/.exec(line.trim())
    if (!m) reject(input, line, MIN_ROWS_HELP)
    const min = Number(m[2])
    if (!Number.isSafeInteger(min)) reject(input, line, `${MIN_ROWS_HELP}; the count is too large`)
    return { table: parseTableName(input, m[1]), min }
  })
}

const CHECK_HELP =
  "expected `name: SQL returning one boolean`, such as `recent orders: SELECT max(created_at) > now() - interval '1 day' FROM orders`"

/**
 * `name: SQL` per line; a line that starts with white space continues the previous check's SQL
 * (for checks kept in a file). `#` lines are comments.
 */
export function parseSqlChecks(input: string, text: string): SqlCheck[] {
  const checks: SqlCheck[] = []
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue
    if (/^\s/.test(line) && checks.length > 0) {
      checks[checks.length - 1].sql += `\n${line.trim()}`
      continue
    }
    const m = /^([^:]+):(.*)$/.exec(line.trim())
    if (!m || m[1].trim() === '' || m[2].trim() === '') reject(input, line, CHECK_HELP)
    checks.push({ name: m[1].trim(), sql: m[2].trim() })
  }
  const seen = new Set<string>()
  for (const c of checks) {
    if (seen.has(c.name)) reject(input, c.name, 'each check needs a distinct name')
    seen.add(c.name)
    c.sql = c.sql.replace(/;\s*$/, '')
  }
  return checks
}

/** The `checks` input is inline `name: SQL` lines, or one line naming a file of them. */
export function isChecksFile(raw: string): boolean {
  const text = raw.trim()
  return text !== '' && !text.includes('\n') && !text.includes(':')
}

/** `/regex/flags` or a plain substring (case-sensitive), one per line. */
export function parseErrorPatterns(input: string, lines: string[]): ErrorPattern[] {
  return lines.map((line) => {
    const m = /^\/(.+)\/([imsu]*)$/.exec(line)
    if (!m) return { source: line, matches: (message) => message.includes(line) }
    let re: RegExp
    try {
      re = new RegExp(m[1], m[2])
    } catch (e) {
      return reject(input, line, `invalid regular expression (${(e as Error).message})`)
    }
    return { source: line, matches: (message) => re.test(message) }
  })
}

/** An ISO 8601 time with an explicit zone, so the runner's time zone cannot shift it. */
export function parseCreatedAt(input: string, raw: string): Date {
  const text = raw.trim()
  const zoned = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/i.test(text)
  const date = new Date(text.replace(' ', 'T'))
  if (!zoned || Number.isNaN(date.getTime())) {
    rejectValue(input, raw, 'expected an ISO 8601 time with a zone, such as `2024-05-01T03:00:00Z`')
  }
  return date
}

/** `auto` (or empty) means one job per CPU. */
export function parseJobs(input: string, raw: string, cpus: number): number {
  const text = raw.trim()
  if (text === '' || text === 'auto') return Math.max(1, cpus)
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 64) {
    rejectValue(input, raw, 'expected `auto` or a whole number from 1 to 64')
  }
  return Number(text)
}
