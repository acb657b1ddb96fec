/** The verification as a job summary (Markdown) and as a JSON report file. */
import { writeFile } from 'node:fs/promises'
import { Summary } from '../../core/summary.js'
import type { VerifyPlan } from '../../backup/plan.js'
import { formatTableName } from '../../backup/spec.js'
import type { VerifyReport } from '../../backup/verify.js'

function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = n
  let unit = -1
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}

/** Table checks can number in the thousands: passing ones are folded into one line. */
function visibleChecks(report: VerifyReport): VerifyReport['checks'] {
  const passedTables = report.checks.filter((c) => c.kind === 'table' && c.passed)
  const rest = report.checks.filter((c) => !(c.kind === 'table' && c.passed))
  if (passedTables.length <= 20) return report.checks
  return [
    ...rest,
    {
      kind: 'table',
      name: `${passedTables.length} tables`,
      passed: true,
      expected: 'restored',
      measured: 'all present (each listed in the report file)'
    }
  ]
}

export function summarize(report: VerifyReport, reportFile: string): string {
  const verdict = report.passed
    ? '✅ backup restores and passes every check'
    : '❌ backup verification failed'
  const summary = new Summary()
    .heading('Backup verification')
    .paragraph(verdict)
    .facts([
      [
        'backup',
        `${report.backup.path} (${report.backup.format}${report.backup.gzip ? ', gzip' : ''}, ${bytes(report.backup.sizeBytes)})`
      ],
      ['created at', report.backup.createdAt ?? 'unknown'],
      [
        'backup age',
        report.backupAgeSeconds === undefined ? 'unknown' : `${report.backupAgeSeconds} s`
      ],
      [
        'restore',
        report.restoreSeconds === undefined
          ? 'not run'
          : `${report.restoreSeconds} s with ${report.jobs} job(s)`
      ],
      ['tables / rows', `${report.tables} / ${report.rows}`],
      ['restored size', bytes(report.sizeBytes)],
      ['scratch database', `${report.database}${report.databaseKept ? ' (kept)' : ' (dropped)'}`],
      ['report file', reportFile]
    ])
    .table(
      ['check', 'expected', 'measured', 'result'],
      visibleChecks(report).map((c) => [
        c.name,
        c.expected,
        c.measured ?? '—',
        c.passed ? 'pass' : `FAIL: ${c.detail ?? ''}`
      ])
    )
  const refused = report.restoreErrors.filter((e) => !e.allowed)
  if (refused.length) {
    summary.details(
      `Restore errors (${refused.length})`,
      refused
        .slice(0, 50)
        .map((e) => `- ${e.message}${e.command ? ` — \`${e.command.slice(0, 200)}\`` : ''}`)
        .join('\n')
    )
  }
  return summary.toMarkdown()
}

export async function writeReportFile(report: VerifyReport, path: string): Promise<void> {
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`)
}

/** Expected tables can number in the thousands: the summary names the first ones. */
const PLAN_TABLE_NAMES = 500

/** The dry run's plan: what a verification would do, and what is already known to fail. */
export function summarizePlan(
  plan: VerifyPlan,
  conn: { display: string; version: string }
): string {
  const verdict = plan.passed
    ? '🔎 dry run: nothing was created or restored'
    : '❌ dry run: this backup would fail verification (known without restoring)'
  const tables = plan.expectedTables.map(formatTableName)
  const summary = new Summary()
    .heading('Backup verification: dry run')
    .paragraph(verdict)
    .facts([
      [
        'backup',
        `${plan.backup.path} (${plan.backup.format}${plan.backup.gzip ? ', gzip' : ''}, ${bytes(plan.backup.sizeBytes)})`
      ],
      ['created at', plan.backup.createdAt ?? 'unknown'],
      [
        'backup age',
        plan.backupAgeSeconds === undefined ? 'unknown' : `${plan.backupAgeSeconds} s`
      ],
      ['server', `${conn.display} (PostgreSQL ${conn.version}), may create databases`],
      ['would create', `scratch database ${plan.database} (TEMPLATE template0), then drop it`],
      ['jobs', String(plan.jobs)],
      ['expected tables', `${tables.length} (from ${plan.tablesFrom})`]
    ])
  if (plan.restoreCommand) summary.paragraph('Restore command:').code(plan.restoreCommand)
  summary.table(
    ['decided without a restore', 'expected', 'measured', 'result'],
    plan.decided.map((c) => [
      c.name,
      c.expected,
      c.measured ?? '—',
      c.passed ? 'pass' : `FAIL: ${c.detail ?? ''}`
    ])
  )
  if (plan.wouldCheck.length)
    summary.paragraph('After the restore it would check:').list(plan.wouldCheck)
  if (tables.length) {
    const shown = tables.slice(0, PLAN_TABLE_NAMES).join(', ')
    const more =
      tables.length > PLAN_TABLE_NAMES ? `, … and ${tables.length - PLAN_TABLE_NAMES} more` : ''
    summary.details(`Expected tables (${tables.length})`, shown + more)
  }
  return summary.toMarkdown()
}

/** The plan for the log, a line per decision. */
export function planLines(plan: VerifyPlan): string[] {
  return [
    `would create scratch database ${plan.database} (TEMPLATE template0) owned by a throwaway restore role without privileges, restore and check as that role, and drop both afterwards`,
    plan.restoreCommand
      ? `would restore with: ${plan.restoreCommand}`
      : 'would not restore: the table of contents cannot be read',
    `expected tables: ${plan.expectedTables.length} (from ${plan.tablesFrom})`,
    ...plan.decided.map(
      (c) =>
        `${c.passed ? 'pass' : 'FAIL'} (known now) ${c.name}: expected ${c.expected}, measured ${c.measured ?? 'nothing'}`
    ),
    ...plan.wouldCheck.map((c) => `would check ${c}`)
  ]
}
