/**
 * Judges: each turns a measurement into a CheckResult with the value seen, the condition and
 * the verdict. Pure. Anything that could not be measured is a failure ("could not verify"),
 * never a pass.
 */
import { formatDuration } from '../core/duration.js'
import type { RestoreError, RestoreOutcome } from './restore.js'
import {
  formatTableName,
  type ErrorPattern,
  type MinRowsRule,
  type SqlCheck,
  type TableName
} from './spec.js'
import type { ScriptScan } from './script-scan.js'
import type { ReaderResult } from './reader.js'

export type CheckKind =
  | 'toc'
  | 'script'
  | 'complete'
  | 'integrity'
  | 'version'
  | 'manifest'
  | 'restore'
  | 'restore-time'
  | 'backup-age'
  | 'table'
  | 'min-rows'
  | 'sql'
  | 'amcheck'

/** Failing one of these means nothing is restored: the backup is unsafe, cut or altered. */
export const BLOCKING_KINDS: ReadonlySet<CheckKind> = new Set([
  'toc',
  'script',
  'complete',
  'integrity',
  'version'
])

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

/** When the backup was made: an instant, or the window a zone-less wall time allows. */
export type CreatedAt = { at: Date } | { wall: string; earliest: Date; latest: Date }

/** Clocks of two machines disagree a little; beyond this a creation time "in the future" fails. */
export const CLOCK_SKEW_MS = 5 * 60_000

function ageCheck(
  passed: boolean,
  maxMs: number | undefined,
  measured: string | null,
  detail?: string
): CheckResult {
  return {
    kind: 'backup-age',
    name: 'backup age (RPO)',
    passed,
    expected: maxMs === undefined ? 'not in the future' : `<= ${formatDuration(maxMs)}`,
    measured,
    detail: passed ? undefined : detail
  }
}

/**
 * Passes only when every instant the creation time may name is within max-age; a time past
 * the clock skew in the future fails (a wrong zone or clock, never a fresh backup).
 */
export function judgeBackupAge(
  created: CreatedAt | undefined,
  now: Date,
  maxMs: number | undefined
): CheckResult | undefined {
  if (!created) {
    if (maxMs === undefined) return undefined
    return ageCheck(
      false,
      maxMs,
      null,
      'could not verify: the backup does not say when it was made (give `created-at`)'
    )
  }
  const earliest = 'at' in created ? created.at : created.earliest
  const latest = 'at' in created ? created.at : created.latest
  const oldest = now.getTime() - earliest.getTime()
  const newest = now.getTime() - latest.getTime()
  if (-oldest > CLOCK_SKEW_MS) {
    return ageCheck(
      false,
      maxMs,
      `${formatDuration(-oldest)} in the future`,
      `backup creation time ${earliest.toISOString()} is in the future (beyond ${formatDuration(CLOCK_SKEW_MS)} of clock skew): a wrong \`dump-timezone\`, \`created-at\` or clock`
    )
  }
  if (maxMs === undefined)
    return 'at' in created ? ageCheck(true, maxMs, formatDuration(Math.max(0, oldest))) : undefined
  if (oldest <= maxMs) return ageCheck(true, maxMs, formatDuration(Math.max(0, oldest)))
  if ('at' in created || newest > maxMs) {
    return ageCheck(
      false,
      maxMs,
      formatDuration(Math.max(0, newest)),
      `backup made ${'at' in created ? created.at.toISOString() : `${created.wall} (local time of the dump machine, at the latest ${created.latest.toISOString()})`} is older than max-age ${formatDuration(maxMs)}`
    )
  }
  return ageCheck(
    false,
    maxMs,
    `${formatDuration(Math.max(0, newest))} to ${formatDuration(oldest)}`,
    `could not verify: the archive says it was made at ${created.wall} local time without a zone, so its age is between ${formatDuration(Math.max(0, newest))} and ${formatDuration(oldest)}; give \`dump-timezone\` (the zone of the machine that ran pg_dump) or \`created-at\``
  )
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

/** Passes only on exactly one row with one column that is `true`. */
export function judgeSqlCheck(check: SqlCheck, result: ReaderResult): CheckResult {
  const base = { kind: 'sql' as const, name: check.name, expected: 'one row, one column, true' }
  if (!result.ok) {
    return {
      ...base,
      passed: false,
      measured: null,
      detail: `check \`${check.name}\` failed to run: ${result.error}`
    }
  }
  const { rows, columns } = result
  const measured =
    rows.length === 1 && columns === 1
      ? JSON.stringify(rows[0][0])
      : `${rows.length} row(s) of ${columns} column(s)`
  const passed = rows.length === 1 && columns === 1 && rows[0][0] === true
  return {
    ...base,
    passed,
    measured,
    detail: passed ? undefined : `check \`${check.name}\` returned ${measured}, expected true`
  }
}

/** pg_amcheck's own lines that mean it could not check, not that it found corruption. */
const AMCHECK_CANNOT_RUN =
  /permission denied|must be superuser|must be owner|could not connect|extension "amcheck" is not available|could not install the amcheck extension/i

export function judgeAmcheck(exitCode: number, output: string): CheckResult {
  const lines = output.trim().split('\n').filter(Boolean)
  const cannot = exitCode !== 0 ? lines.find((l) => AMCHECK_CANNOT_RUN.test(l)) : undefined
  return {
    kind: 'amcheck',
    name: 'pg_amcheck',
    passed: exitCode === 0,
    expected: 'exit 0, no corruption reported',
    measured: cannot
      ? `could not run (exit ${exitCode})`
      : `exit ${exitCode}, ${lines.length} line(s) of findings`,
    detail:
      exitCode === 0
        ? undefined
        : cannot
          ? `could not verify: pg_amcheck could not check the database (${cannot.trim()}); it needs a superuser or a role granted EXECUTE on the amcheck functions`
          : `pg_amcheck: ${lines.slice(0, 5).join('; ') || `exit ${exitCode}`}`
  }
}

/** The plain-SQL pre-scan: refused lines are named, and nothing of the script runs. */
export function judgeScriptSafety(scan: ScriptScan): CheckResult {
  const shown = scan.findings.slice(0, 5).map((f) => `line ${f.line}: ${f.what}`)
  if (scan.findings.length > 5) shown.push(`… and ${scan.findings.length - 5} more`)
  return {
    kind: 'script',
    name: 'script safety',
    passed: scan.findings.length === 0,
    expected: 'no psql meta-command, no statement acting outside the scratch database',
    measured: `${scan.findings.length} refused line(s)`,
    detail: scan.findings.length ? `refused to run the SQL script: ${shown.join('; ')}` : undefined
  }
}

/** pg_dump ends every plain dump with a marker: a script without it was cut short. */
export function judgeScriptComplete(scan: ScriptScan): CheckResult {
  const passed = scan.completeAt !== undefined && !scan.endsInside
  const why = scan.endsInside
    ? `the script ends inside ${scan.endsInside} at line ${scan.lines}`
    : "the script does not end with pg_dump's `-- PostgreSQL database dump complete`"
  return {
    kind: 'complete',
    name: 'script complete',
    passed,
    expected: 'ends with `-- PostgreSQL database dump complete`',
    measured: passed ? `marker at line ${scan.completeAt}` : 'no end marker',
    detail: passed ? undefined : `backup is cut short or not a pg_dump script: ${why}`
  }
}
