/**
 * The dry run: what a restore test would do, from the inputs and the backup's table of contents
 * alone. Nothing is created. Checks whose outcome is already known without a restore (a TOC that
 * cannot be read, a backup past max-age, no table to check) are judged here and fail the preview,
 * because a real run would fail them too.
 */
import { formatCommand } from '../core/exec.js'
import { formatDuration } from '../core/duration.js'
import { judgeNoTables, type CheckResult } from './checks.js'
import { effectiveJobs, describeRestoreCommand } from './restore.js'
import { formatTableName, type TableName } from './spec.js'
import type { Toc } from './toc.js'
import {
  amcheckArgs,
  backupAge,
  decidedBeforeRestore,
  integrityChecks,
  describeBackup,
  expectedTables,
  readTocChecked,
  restoreOptions,
  scratchDatabaseName,
  type BackupFacts,
  type RestoreTestRequest
} from './restore-test.js'

export interface RestoreTestPreview {
  passed: boolean
  /** A name drawn as the real run would; each run draws a new one. */
  database: string
  backup: BackupFacts
  jobs: number
  /** Absent when the TOC cannot be read: a real run stops there too. */
  restoreCommand?: string
  backupAgeSeconds?: number
  expectedTables: TableName[]
  tablesFrom: 'expect-tables' | 'table of contents'
  /** What a real run would check after the restore, one line each. */
  wouldCheck: string[]
  /** Checks already decided without a restore. */
  decided: CheckResult[]
}

function afterRestoreChecks(
  request: RestoreTestRequest,
  database: string,
  tables: TableName[],
  tablesFrom: RestoreTestPreview['tablesFrom']
): string[] {
  const lines = [`restore: no error${request.allowErrors.length ? ' other than allow-errors' : ''}`]
  if (request.maxRestoreMs !== undefined)
    lines.push(`restore time (RTO): <= ${formatDuration(request.maxRestoreMs)}, stopped past it`)
  if (tables.length) lines.push(`${tables.length} table(s) restored (from ${tablesFrom})`)
  lines.push(...request.minRows.map((r) => `rows in ${formatTableName(r.table)}: >= ${r.min}`))
  lines.push(
    ...request.checks.map(
      (c) => `SQL check \`${c.name}\` (read-only): ${c.sql.replace(/\s+/g, ' ')}`
    )
  )
  if (request.amcheck)
    lines.push(`pg_amcheck: ${formatCommand(amcheckArgs(request.amcheck, request.jobs, database))}`)
  return lines
}

/** Pure: the preview from a TOC that was read (or the failed TOC check when it was not). */
export function previewFromToc(
  request: RestoreTestRequest,
  read: { toc: Toc } | { failed: CheckResult },
  now: Date,
  integrity: CheckResult[] = []
): RestoreTestPreview {
  const database = scratchDatabaseName(now)
  const jobs = effectiveJobs(request.source, request.jobs)
  const tablesFrom = request.expectTables ? 'expect-tables' : 'table of contents'
  const base = { database, jobs, tablesFrom } as const
  if ('failed' in read) {
    return {
      ...base,
      expectedTables: [],
      wouldCheck: [],
      passed: false,
      backup: describeBackup(request, undefined),
      decided: [read.failed]
    }
  }
  const tables = expectedTables(request, read.toc)
  const age = backupAge(request, read.toc, now)
  const decided = [
    ...integrity,
    ...decidedBeforeRestore(request, read.toc, now),
    ...(tables.length === 0 ? [judgeNoTables()] : [])
  ]
  return {
    ...base,
    passed: decided.every((c) => c.passed),
    backup: describeBackup(request, read.toc),
    restoreCommand: describeRestoreCommand(database, request.source, restoreOptions(request)),
    backupAgeSeconds: age.seconds,
    expectedTables: tables,
    wouldCheck: afterRestoreChecks(request, database, tables, tablesFrom),
    decided
  }
}

/** Reads the TOC (read-only: `pg_restore --list` or the script's comments) and plans. */
export async function previewRestoreTest(
  request: RestoreTestRequest,
  now = new Date()
): Promise<RestoreTestPreview> {
  return previewFromToc(request, await readTocChecked(request), now, await integrityChecks(request))
}
