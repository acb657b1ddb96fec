/** The restore test (backup-verify) as a job summary (Markdown) and as a JSON report file. */
import { writeFile } from 'node:fs/promises'
import { Summary } from '../../core/summary.js'
import type { RestoreTestPreview } from '../../backup/preview.js'
import { formatTableName } from '../../backup/spec.js'
import type { RestoreTestReport } from '../../backup/restore-test.js'
import type { BackupRequest, BackupResult } from '../../backup/make-backup.js'

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
function visibleChecks(report: RestoreTestReport): RestoreTestReport['checks'] {
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

export function summarize(report: RestoreTestReport, reportFile: string): string {
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

export async function writeReportFile(report: RestoreTestReport, path: string): Promise<void> {
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`)
}

/** Expected tables can number in the thousands: the summary names the first ones. */
const PLAN_TABLE_NAMES = 500

/** The dry run's preview: what a restore test would do, and what is already known to fail. */
export function summarizePreview(
  preview: RestoreTestPreview,
  conn: { display: string; version: string }
): string {
  const verdict = preview.passed
    ? '🔎 dry run: nothing was created or restored'
    : '❌ dry run: this backup would fail verification (known without restoring)'
  const tables = preview.expectedTables.map(formatTableName)
  const summary = new Summary()
    .heading('Backup verification: dry run')
    .paragraph(verdict)
    .facts([
      [
        'backup',
        `${preview.backup.path} (${preview.backup.format}${preview.backup.gzip ? ', gzip' : ''}, ${bytes(preview.backup.sizeBytes)})`
      ],
      ['created at', preview.backup.createdAt ?? 'unknown'],
      [
        'backup age',
        preview.backupAgeSeconds === undefined ? 'unknown' : `${preview.backupAgeSeconds} s`
      ],
      ['server', `${conn.display} (PostgreSQL ${conn.version}), may create databases`],
      ['would create', `scratch database ${preview.database} (TEMPLATE template0), then drop it`],
      ['jobs', String(preview.jobs)],
      ['expected tables', `${tables.length} (from ${preview.tablesFrom})`]
    ])
  if (preview.restoreCommand) summary.paragraph('Restore command:').code(preview.restoreCommand)
  summary.table(
    ['decided without a restore', 'expected', 'measured', 'result'],
    preview.decided.map((c) => [
      c.name,
      c.expected,
      c.measured ?? '—',
      c.passed ? 'pass' : `FAIL: ${c.detail ?? ''}`
    ])
  )
  if (preview.wouldCheck.length)
    summary.paragraph('After the restore it would check:').list(preview.wouldCheck)
  if (tables.length) {
    const shown = tables.slice(0, PLAN_TABLE_NAMES).join(', ')
    const more =
      tables.length > PLAN_TABLE_NAMES ? `, … and ${tables.length - PLAN_TABLE_NAMES} more` : ''
    summary.details(`Expected tables (${tables.length})`, shown + more)
  }
  return summary.toMarkdown()
}

/** The preview for the log, a line per decision. */
export function previewLines(preview: RestoreTestPreview): string[] {
  return [
    `would create scratch database ${preview.database} (TEMPLATE template0) owned by a throwaway restore role without privileges, restore and check as that role, and drop both afterwards`,
    preview.restoreCommand
      ? `would restore with: ${preview.restoreCommand}`
      : 'would not restore: the table of contents cannot be read',
    `expected tables: ${preview.expectedTables.length} (from ${preview.tablesFrom})`,
    ...preview.decided.map(
      (c) =>
        `${c.passed ? 'pass' : 'FAIL'} (known now) ${c.name}: expected ${c.expected}, measured ${c.measured ?? 'nothing'}`
    ),
    ...preview.wouldCheck.map((c) => `would check ${c}`)
  ]
}

/** `mode: backup`: what was dumped, as of when, and where its manifest is. */
export function backupSummary(
  request: Pick<BackupRequest, 'path' | 'format'>,
  result: Pick<BackupResult, 'manifest' | 'manifestPath'>,
  rows: number
): string {
  const { manifest } = result
  return new Summary()
    .heading('Backup made')
    .facts([
      ['backup', `${request.path} (${request.format})`],
      ['snapshot time', manifest.createdAt],
      ['tables / rows', `${manifest.tables.length} / ${rows}`],
      ['large objects', String(manifest.largeObjects)],
      ['manifest', result.manifestPath]
    ])
    .toMarkdown()
}
