/**
 * Judges: each turns a measurement into a CheckResult with the value seen, the condition and
 * the verdict. Pure. Anything that could not be measured is a failure ("could not verify"),
 * never a pass.
 */
import { formatDuration as formatShort } from '../core/duration.js'
import type { RestoreError, RestoreOutcome } from './restore.js'
import {
  formatTableName,
  type ErrorPattern,
  type MinRowsRule,
  type SqlCheck,
  type TableName
} from './spec.js'
import type { QueryResult } from './sql.js'

/** core's formatDuration stops at minutes; backup ages run to hours and days. */
export function formatDuration(ms: number): string {
  if (ms < 3_600_000) return formatShort(ms)
  const hours = Math.floor(ms / 3_600_000)
  const minutes = Math.floor((ms % 3_600_000) / 60_000)
  return `${hours}h${String(minutes).padStart(2, '0')}m`
}

export type CheckKind =
  'toc' | 'restore' | 'restore-time' | 'backup-age' | 'table' | 'min-rows' | 'sql' | 'amcheck'

export interface CheckResult {
  kind: CheckKind
  name: string
  passed: boolean
  expected: string
  measured: string | number | null
  detail?: string
}

export interface JudgedRestoreError extends RestoreError {
  allowed: boolean
}

/** Only SQL errors can be allowed: a fatal error (unreadable archive, crash) always fails. */
export function judgeRestoreErrors(
  errors: RestoreError[],
  allow: ErrorPattern[]
): JudgedRestoreError[] {
  return errors.map((e) => ({
    ...e,
    allowed: e.sqlError && allow.some((p) => p.matches(e.message))
  }))
}

export function judgeRestore(outcome: RestoreOutcome, judged: JudgedRestoreError[]): CheckResult {
  const refused = judged.filter((e) => !e.allowed)
  const allowed = judged.length - refused.length
  const reasons = refused
    .slice(0, 5)
    .map((e) => (e.command ? `${e.message} [${e.command}]` : e.message))
  if (refused.length > 5) reasons.push(`… and ${refused.length - 5} more (see the report file)`)
  if (outcome.timedOut) reasons.unshift('stopped at max-restore-time before it finished')
  return {
    kind: 'restore',
    name: 'restore',
    passed: refused.length === 0 && !outcome.timedOut,
    expected: 'no restore error (other than allow-errors)',
    measured: `${judged.length} error(s)${allowed ? `, ${allowed} allowed` : ''}`,
    detail: reasons.length ? `restore failed: ${reasons.join('; ')}` : undefined
  }
}

export function judgeRestoreTime(
  durationMs: number,
  timedOut: boolean,
  maxMs: number | undefined
): CheckResult | undefined {
  if (maxMs === undefined) return undefined
  const passed = !timedOut && durationMs <= maxMs
  return {
    kind: 'restore-time',
    name: 'restore time (RTO)',
    passed,
    expected: `<= ${formatDuration(maxMs)}`,
    measured: `${timedOut ? '> ' : ''}${formatDuration(durationMs)}`,
    detail: passed
      ? undefined
      : `restore took longer than max-restore-time ${formatDuration(maxMs)}`
  }
}

export function judgeBackupAge(
  createdAt: Date | undefined,
  now: Date,
  maxMs: number | undefined
): CheckResult | undefined {
  if (maxMs === undefined) return undefined
  if (!createdAt) {
    return {
      kind: 'backup-age',
      name: 'backup age (RPO)',
      passed: false,
      expected: `<= ${formatDuration(maxMs)}`,
      measured: null,
      detail: 'could not verify: the backup does not say when it was made (give `created-at`)'
    }
  }
  const ageMs = now.getTime() - createdAt.getTime()
  const passed = ageMs <= maxMs
  return {
    kind: 'backup-age',
    name: 'backup age (RPO)',
    passed,
    expected: `<= ${formatDuration(maxMs)}`,
    measured: formatDuration(Math.max(0, ageMs)),
    detail: passed
      ? undefined
      : `backup made ${createdAt.toISOString()} is older than max-age ${formatDuration(maxMs)}`
  }
}

export function judgeNoTables(): CheckResult {
  return {
    kind: 'table',
    name: 'tables',
    passed: false,
    expected: 'at least one table to check',
    measured: 0,
    detail: 'could not verify: the backup lists no table data; name the tables in `expect-tables`'
  }
}

/** `rows` undefined: the table is not in the restored database. */
export function judgeTable(table: TableName, rows: number | undefined): CheckResult {
  const name = formatTableName(table)
  return {
    kind: 'table',
    name: `table ${name}`,
    passed: rows !== undefined,
    expected: 'restored',
    measured: rows === undefined ? 'missing' : `${rows} rows`,
    detail: rows === undefined ? `table ${name} is missing from the restored database` : undefined
  }
}

export function judgeMinRows(rule: MinRowsRule, rows: number | undefined): CheckResult {
  const name = formatTableName(rule.table)
  const passed = rows !== undefined && rows >= rule.min
  return {
    kind: 'min-rows',
    name: `rows in ${name}`,
    passed,
    expected: `>= ${rule.min}`,
    measured: rows ?? 'missing',
    detail: passed
      ? undefined
      : rows === undefined
        ? `table ${name} is missing, expected at least ${rule.min} rows`
        : `table ${name} has ${rows} rows, expected at least ${rule.min}`
  }
}

/** The check's query, wrapped so the rows come back as JSON whatever the column types. */
export function wrapSqlCheck(check: SqlCheck): string {
  return `SELECT coalesce(json_agg(q), '[]') FROM (\n${check.sql}\n) q`
}

/** Passes only on exactly one row with one column that is `true`. */
export function judgeSqlCheck(check: SqlCheck, result: QueryResult): CheckResult {
  const base = { kind: 'sql' as const, name: check.name, expected: 'one row, one column, true' }
  if (!result.ok) {
    return {
      ...base,
      passed: false,
      measured: null,
      detail: `check \`${check.name}\` failed to run: ${result.error}`
    }
  }
  const rows = JSON.parse(result.value) as Record<string, unknown>[]
  const values = rows.length === 1 ? Object.values(rows[0]) : []
  const measured =
    rows.length === 1 && values.length === 1
      ? JSON.stringify(values[0])
      : JSON.stringify(rows).slice(0, 200)
  const passed = values.length === 1 && values[0] === true
  return {
    ...base,
    passed,
    measured,
    detail: passed ? undefined : `check \`${check.name}\` returned ${measured}, expected true`
  }
}

export function judgeAmcheck(exitCode: number, output: string): CheckResult {
  const lines = output.trim().split('\n').filter(Boolean)
  return {
    kind: 'amcheck',
    name: 'pg_amcheck',
    passed: exitCode === 0,
    expected: 'exit 0, no corruption reported',
    measured: `exit ${exitCode}, ${lines.length} line(s) of findings`,
    detail:
      exitCode === 0
        ? undefined
        : `pg_amcheck: ${lines.slice(0, 5).join('; ') || `exit ${exitCode}`}`
  }
}
