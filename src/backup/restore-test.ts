/**
 * The drill: read the backup's TOC, restore it into a fresh scratch database, measure, judge,
 * and drop the scratch database whatever happened.
 */
import { randomBytes } from 'node:crypto'
import { errorMessage, GateError, ToolError } from '../core/errors.js'
import { runCommand } from '../core/exec.js'
import { log } from '../core/log.js'
import {
  judgeAmcheck,
  judgeBackupAge,
  judgeMinRows,
  judgeNoTables,
  judgeRestore,
  judgeRestoreErrors,
  judgeRestoreTime,
  judgeScriptComplete,
  judgeScriptSafety,
  judgeSqlCheck,
  BLOCKING_KINDS,
  judgeTable,
  type CheckResult,
  type CreatedAt,
  type JudgedRestoreError
} from './checks.js'
import { dropScratchDatabase, sweepStale } from './cleanup.js'
import { digestBackup, judgeIntegrity, type Digests } from './integrity.js'
import { judgeManifest, type Manifest } from './manifest.js'
import { envFor, type Connection } from './connection.js'
import type { BackupSource } from './format.js'
import { clientConfig, createReader, dropReader, runAsReader } from './reader.js'
import { restoreBackup, type RestoreOptions } from './restore.js'
import {
  createScratchRole,
  dropScratchRole,
  grantAmcheck,
  lockScratchRole,
  refuseAdmin,
  roleConnection,
  roleName,
  type AdminPowers,
  type ScratchRole
} from './scratch-role.js'
import { ownerErrors } from './owners.js'
import { type ErrorPattern, type MinRowsRule, type SqlCheck, type TableName } from './spec.js'
import { execute, queryRows, quoteIdent } from './sql.js'
import { readToc, tablesWithData, type Toc } from './toc.js'
import { wallTimeToInstant, wallTimeWindow, type TimeZone } from './wall-time.js'

export interface RestoreTestRequest {
  source: BackupSource
  conn: Connection
  jobs: number
  /** Undefined: every table with data in the TOC. */
  expectTables?: TableName[]
  minRows: MinRowsRule[]
  checks: SqlCheck[]
  maxAgeMs?: number
  /** Overrides the TOC's creation time (required for plain SQL with max-age). */
  createdAt?: Date
  /** The zone of the machine that ran pg_dump: turns the archive's wall time into an instant. */
  dumpTimeZone?: TimeZone
  maxRestoreMs?: number
  /** Path of pg_amcheck when the amcheck check is on. */
  amcheck?: string
  allowErrors: ErrorPattern[]
  noOwner: boolean
  keepDatabase: boolean
  /** `server_version` of the scratch server (from checkServer). */
  serverVersion?: string
  /** Made at dump time (mode: backup): exact row counts, file digests, UTC creation time. */
  manifest?: Manifest
  /** From the `sha256` input: expected digest per file. */
  sha256?: Digests
  /** What the admin may do (from checkServer): how the throwaway restore role is made. */
  powers: AdminPowers
  /** Told each object before it is created, and the restore's process group, for the post step. */
  track?: (kind: TrackKind, value: string) => void
  /** A cancel: stops the restore (its process group) and what runs, then drops what was made. */
  signal?: AbortSignal
}

export type TrackKind = 'database' | 'role' | 'restore-role' | 'restore-pid'

export interface BackupFacts {
  path: string
  format: string
  gzip: boolean
  sizeBytes: number
  createdAt?: string
  dumpedFrom?: string
  dumpedBy?: string
}

export interface RestoreTestReport {
  passed: boolean
  database: string
  databaseKept: boolean
  backup: BackupFacts
  jobs: number
  restoreCommand?: string
  restoreSeconds?: number
  backupAgeSeconds?: number
  tables: number
  rows: number
  sizeBytes: number
  checks: CheckResult[]
  restoreErrors: JudgedRestoreError[]
  /** Wall time of each step in ms (toc, integrity, setup, restore, count, checks, amcheck, cleanup). */
  phaseMs: Record<string, number>
}

/** Runs one step of the drill and records its wall time in the report. */
async function phase<T>(
  report: RestoreTestReport,
  name: string,
  step: () => Promise<T>
): Promise<T> {
  const started = Date.now()
  try {
    return await step()
  } finally {
    report.phaseMs[name] = (report.phaseMs[name] ?? 0) + (Date.now() - started)
  }
}

export interface ServerInfo {
  version: string
  powers: AdminPowers
}

/**
 * Before anything is created: is the server reachable, and may this role create the scratch
 * database and the throwaway role that restores into it?
 */
export async function checkServer(conn: Connection): Promise<ServerInfo> {
  const [info] = await queryRows<{ version: string } & AdminPowers>(
    conn,
    conn.adminDatabase,
    `SELECT current_setting('server_version') AS version, rolsuper AS superuser,
            rolcreatedb AS "createDb", rolcreaterole AS "createRole"
       FROM pg_roles WHERE rolname = current_user`
  )
  const { version, ...powers } = info
  const why = refuseAdmin(powers, `${conn.env.PGUSER ?? '(default)'} on ${conn.display}`)
  if (why) throw new ToolError(why)
  return { version, powers }
}

/**
 * The restore role must log in with its password before anything is restored: a server that
 * lets only the admin in (peer or trust for one user, no password logins) has no way to drop
 * privileges, so the run stops as "could not run", never restoring as the admin.
 */
async function checkRoleLogin(
  conn: Connection,
  role: ScratchRole,
  database: string
): Promise<void> {
  try {
    await execute(roleConnection(conn, role, database), database, 'SELECT 1')
  } catch (e) {
    throw new ToolError(
      `the restore role ${role.role} cannot log in to ${conn.display} with a password (${errorMessage(e)}): backup-verify never restores as the \`database-url\` role, since code in a backup runs as the role that restores it; pg_hba.conf must allow password logins (scram-sha-256 or md5) for every role to the scratch databases from this runner`
    )
  }
}

/** Stops the drill between steps once cancelled (the running step is stopped by the signal). */
function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ToolError('cancelled: the verification was stopped')
}

export function scratchDatabaseName(now = new Date()): string {
  const stamp = now.toISOString().replace(/\D/g, '').slice(0, 14)
  return `backup_verify_${stamp}_${randomBytes(4).toString('hex')}`
}

interface RestoredTable {
  schema: string
  name: string
  rows: number
  /** A partitioned parent: its rows are its partitions' rows, counted once in the total. */
  partitioned: boolean
}

const key = (t: TableName): string => `${t.schema}\u0000${t.name}`

/**
 * Lists the user tables and counts this group's share (every `jobs`-th table, largest first so
 * the groups get similar work) in one statement: no separate round trip for the list.
 */
function countRowsSql(jobs: number, group: number): string {
  return `WITH t AS (
    SELECT n.nspname AS schema, c.relname AS name, c.relkind = 'p' AS partitioned,
           row_number() OVER (ORDER BY pg_relation_size(c.oid) DESC, n.nspname, c.relname) - 1 AS k
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'm') AND (c.relkind <> 'm' OR c.relispopulated) AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%')
  SELECT schema, name, partitioned,
         (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s%I.%I',
           CASE WHEN partitioned THEN '' ELSE 'ONLY ' END, schema, name), false, true, '')))[1]::text AS rows
    FROM t WHERE k % ${jobs} = ${group}`
}

/** Exact row counts (reltuples is only an estimate until ANALYZE) for every restored table. */
async function countRows(
  conn: Connection,
  database: string,
  jobs: number,
  signal: AbortSignal | undefined
): Promise<RestoredTable[]> {
  // One session per job, side by side: counting is a full scan of every table.
  const groups = await Promise.all(
    Array.from({ length: jobs }, (_, g) =>
      // A count is a full scan: no time limit but the job's own (max-restore-time is the restore's).
      queryRows<{ schema: string; name: string; partitioned: boolean; rows: string }>(
        conn,
        database,
        countRowsSql(jobs, g),
        { timeoutMs: 0, signal }
      )
    )
  )
  return groups
    .flat()
    .map((t) => ({ ...t, rows: Number(t.rows) }))
    .sort((a, b) => key(a).localeCompare(key(b)))
}

/** The tables that must come back: `expect-tables`, or every table with data in the TOC. */
export function expectedTables(request: RestoreTestRequest, toc: Toc): TableName[] {
  return request.expectTables ?? tablesWithData(toc)
}

function tableChecks(
  request: RestoreTestRequest,
  toc: Toc,
  restored: RestoredTable[]
): CheckResult[] {
  const rowsOf = new Map(restored.map((t) => [key(t), t.rows]))
  const expected = expectedTables(request, toc)
  const checks =
    expected.length === 0
      ? [judgeNoTables()]
      : expected.map((t) => judgeTable(t, rowsOf.get(key(t))))
  return [
    ...checks,
    ...request.minRows.map((rule) => judgeMinRows(rule, rowsOf.get(key(rule.table))))
  ]
}

/** Each check as the throwaway read-only role, never as the admin (see reader.ts). */
async function runSqlChecks(
  conn: Connection,
  database: string,
  checks: SqlCheck[],
  track: RestoreTestRequest['track']
): Promise<CheckResult[]> {
  if (checks.length === 0) return []
  const reader = await createReader(conn)
  track?.('role', reader.role)
  try {
    const config = clientConfig(conn, database, reader)
    const results = await runAsReader(
      config,
      checks.map((c) => c.sql),
      CHECK_TIMEOUT_MS
    )
    return checks.map((check, i) => judgeSqlCheck(check, results[i]))
  } finally {
    await dropReader(conn, reader).catch((e: unknown) =>
      log.error(`could not drop the checks role ${reader.role}: ${errorMessage(e)}`)
    )
  }
}

const CHECK_TIMEOUT_MS = 300_000

export function amcheckArgs(program: string, jobs: number, database: string): string[] {
  return [program, '-w', '-j', String(jobs), database]
}

/** As the restore role: the admin only installs amcheck and grants its functions (see scratch-role.ts). */
async function runAmcheck(
  admin: Connection,
  as: Connection,
  role: string,
  database: string,
  program: string,
  jobs: number,
  signal: AbortSignal | undefined
): Promise<CheckResult> {
  try {
    await grantAmcheck(admin, database, role)
  } catch (e) {
    return judgeAmcheck(1, `could not install the amcheck extension: ${errorMessage(e)}`)
  }
  const argv = amcheckArgs(program, jobs, database)
  const result = await runCommand(argv, {
    env: envFor(as, database),
    timeoutMs: 3_600_000,
    signal
  })
  return judgeAmcheck(result.code, `${result.stdout}\n${result.stderr}`)
}

export function describeBackup(request: RestoreTestRequest, toc: Toc | undefined): BackupFacts {
  const { source } = request
  return {
    path: source.path,
    format: source.format,
    gzip: source.gzip,
    sizeBytes: source.sizeBytes,
    createdAt: describeCreatedAt(toc ? createdAtOf(request, toc) : undefined),
    dumpedFrom: toc?.dumpedFrom,
    dumpedBy: toc?.dumpedBy
  }
}

function emptyReport(
  request: RestoreTestRequest,
  database: string,
  toc: Toc | undefined
): RestoreTestReport {
  return {
    passed: false,
    database,
    databaseKept: false,
    backup: describeBackup(request, toc),
    jobs: request.jobs,
    tables: 0,
    rows: 0,
    sizeBytes: 0,
    checks: [],
    restoreErrors: [],
    phaseMs: {}
  }
}

/**
 * What is known before anything is created: the RPO, and for plain SQL the pre-scan and the end
 * marker. A failed blocking check means nothing is restored.
 */
export function decidedBeforeRestore(
  request: RestoreTestRequest,
  toc: Toc,
  now: Date
): CheckResult[] {
  const checks: CheckResult[] = []
  const age = backupAge(request, toc, now)
  if (age.check) checks.push(age.check)
  if (toc.script) checks.push(judgeScriptSafety(toc.script), judgeScriptComplete(toc.script))
  if (toc.ddlScan?.findings.length) checks.push(judgeScriptSafety(toc.ddlScan))
  return checks
}

/** The backup's bytes against the sidecar and the manifest: read before anything is created. */
export async function integrityChecks(request: RestoreTestRequest): Promise<CheckResult[]> {
  if (!request.sha256 && !request.manifest) return []
  const actual = await digestBackup(request.source)
  const checks: CheckResult[] = []
  if (request.sha256) checks.push(judgeIntegrity('sha256 sidecar', request.sha256, actual))
  if (request.manifest)
    checks.push(judgeIntegrity('manifest', new Map(Object.entries(request.manifest.files)), actual))
  return checks
}

export const blocks = (checks: CheckResult[]): boolean =>
  checks.some((c) => !c.passed && BLOCKING_KINDS.has(c.kind))

/** `created-at`, else the archive's wall time in `dump-timezone`, else the window it allows. */
export function createdAtOf(request: RestoreTestRequest, toc: Toc): CreatedAt | undefined {
  if (request.createdAt) return { at: request.createdAt }
  if (request.manifest) return { at: new Date(request.manifest.createdAt) }
  if (!toc.createdWall) return undefined
  if (request.dumpTimeZone) return { at: wallTimeToInstant(toc.createdWall, request.dumpTimeZone) }
  return { wall: toc.createdWall, ...wallTimeWindow(toc.createdWall) }
}

function describeCreatedAt(created: CreatedAt | undefined): string | undefined {
  if (!created) return undefined
  if ('at' in created) return created.at.toISOString()
  return `${created.wall} (dump machine's local time, zone unknown)`
}

/** Known from the TOC alone (or `created-at`): no restore is needed to judge the RPO. */
export function backupAge(
  request: RestoreTestRequest,
  toc: Toc,
  now: Date
): { seconds?: number; check?: CheckResult } {
  const created = createdAtOf(request, toc)
  return {
    seconds:
      created && 'at' in created
        ? Math.round((now.getTime() - created.at.getTime()) / 1000)
        : undefined,
    check: judgeBackupAge(created, now, request.maxAgeMs)
  }
}

export type TocOutcome = { toc: Toc } | { failed: CheckResult }

/** Pure: `15.18 (Debian 15.18-0+deb12u1)` -> 15, `9.6.24` -> 9.6 as 9. */
export function majorVersion(version: string | undefined): number | undefined {
  const m = /^(\d+)(?:\.(\d+))?/.exec(version?.trim() ?? '')
  if (!m) return undefined
  return Number(m[1]) >= 10 ? Number(m[1]) : Number(`${m[1]}.${m[2] ?? 0}`)
}

/**
 * A dump from a newer major cannot be restored into an older server (nor read by an older
 * pg_restore): the tool cannot verify it here, which is exit 3, not a bad backup.
 */
export function checkVersions(toc: Toc, serverVersion: string | undefined): void {
  const server = majorVersion(serverVersion)
  const from = majorVersion(toc.dumpedFrom)
  const by = majorVersion(toc.dumpedBy)
  const newest = Math.max(from ?? 0, by ?? 0)
  if (server !== undefined && newest > server) {
    throw new ToolError(
      `the backup was made by PostgreSQL ${newest} (dumped from ${toc.dumpedFrom ?? '?'} by pg_dump ${toc.dumpedBy ?? '?'}) and cannot be restored into this PostgreSQL ${server} server; verify it on a server (and with client programs) of major version ${newest} or newer`
    )
  }
}

/** An unreadable TOC is a failed check (the backup is bad), not an error of the action. */
export async function readTocChecked(request: RestoreTestRequest): Promise<TocOutcome> {
  try {
    const toc = await readToc(request.source, request.conn.env)
    checkVersions(toc, request.serverVersion)
    return { toc }
  } catch (e) {
    if (!(e instanceof GateError)) throw e
    return {
      failed: {
        kind: 'toc',
        name: 'table of contents',
        passed: false,
        expected: 'readable',
        measured: null,
        detail: e.message
      }
    }
  }
}

export function restoreOptions(
  request: RestoreTestRequest
): RestoreOptions & { stopOnError: boolean } {
  return {
    jobs: request.jobs,
    timeoutMs: request.maxRestoreMs,
    stopOnError: request.allowErrors.length === 0
  }
}

function restoreOptionsFor(
  request: RestoreTestRequest,
  toc: Toc
): ReturnType<typeof restoreOptions> {
  const script = toc.script
  return {
    ...restoreOptions(request),
    blankLines: script ? [...script.restrictLines, ...script.privilegeLines] : undefined,
    signal: request.signal,
    onSpawn: (pid) => request.track?.('restore-pid', String(pid))
  }
}

/**
 * Restores into `database` (already created, owned by `role`) as that role, and fills the
 * report with what was measured, also as that role.
 */
async function restoreAndMeasure(
  request: RestoreTestRequest,
  toc: Toc,
  database: string,
  role: ScratchRole,
  report: RestoreTestReport
): Promise<void> {
  const { conn, signal } = request
  const as = roleConnection(conn, role, database)
  const owners = request.noOwner
    ? []
    : await phase(report, 'setup', () => ownerErrors(conn, (toc.script ?? toc.ddlScan)?.owners))
  const outcome = await phase(report, 'restore', () =>
    log.group(`restore into ${database} as ${role.role}`, () =>
      restoreBackup(as, database, request.source, restoreOptionsFor(request, toc))
    )
  )
  // The restore has ended: the post step must not signal that process id any more.
  request.track?.('restore-pid', '')
  throwIfCancelled(signal)
  report.jobs = outcome.jobs
  report.restoreCommand = outcome.command
  report.restoreSeconds = Math.round(outcome.durationMs / 10) / 100
  report.restoreErrors = judgeRestoreErrors([...owners, ...outcome.errors], request.allowErrors)
  report.checks.push(judgeRestore(outcome, report.restoreErrors))
  const time = judgeRestoreTime(outcome.durationMs, outcome.timedOut, request.maxRestoreMs)
  if (time) report.checks.push(time)
  if (outcome.timedOut) return

  // The size query is cheap: it runs alongside the counts instead of after them.
  const [restored, size] = await phase(report, 'count', () =>
    Promise.all([
      // No more sessions than the TOC has tables to count (any number still counts every table).
      countRows(
        as,
        database,
        Math.max(1, Math.min(request.jobs, tablesWithData(toc).length)),
        signal
      ),
      execute(as, database, 'SELECT pg_database_size(current_database())', { signal })
    ])
  )
  report.tables = restored.length
  report.rows = restored.reduce((sum, t) => sum + (t.partitioned ? 0 : t.rows), 0)
  report.sizeBytes = Number(size)
  report.checks.push(...tableChecks(request, toc, restored))
  if (request.manifest) {
    const lo = await phase(report, 'count', () =>
      execute(as, database, 'SELECT count(*) FROM pg_largeobject_metadata', { signal })
    )
    report.checks.push(...judgeManifest(request.manifest, restored, Number(lo)))
  }
  throwIfCancelled(signal)
  report.checks.push(
    ...(await phase(report, 'checks', () =>
      runSqlChecks(conn, database, request.checks, request.track)
    ))
  )
  throwIfCancelled(signal)
  const amcheck = request.amcheck
  if (amcheck)
    report.checks.push(
      await phase(report, 'amcheck', () =>
        runAmcheck(conn, as, role.role, database, amcheck, request.jobs, signal)
      )
    )
}

/** Drops (or, with keep-database, keeps and locks) what the run made; each failure is logged. */
async function dropMade(
  request: RestoreTestRequest,
  report: RestoreTestReport,
  made: { database: boolean; role?: string }
): Promise<void> {
  const { conn } = request
  const { database } = report
  const logged = (what: string) => (e: unknown) =>
    log.error(`could not ${what}: ${errorMessage(e)}`)
  if (made.database && request.keepDatabase) {
    report.databaseKept = true
    if (made.role) await lockScratchRole(conn, made.role).catch(logged(`lock role ${made.role}`))
    log.notice(
      `keep-database: scratch database ${database} was kept on ${conn.display}, owned by the role ${made.role ?? '?'} (now NOLOGIN); the next run sweeps both after a day`
    )
    return
  }
  if (made.database)
    await dropScratchDatabase(conn, database).catch(logged(`drop scratch database ${database}`))
  if (made.role)
    await dropScratchRole(conn, made.role).catch(logged(`drop restore role ${made.role}`))
}

export async function testRestore(
  request: RestoreTestRequest,
  now = new Date()
): Promise<RestoreTestReport> {
  const database = scratchDatabaseName(now)
  const started = Date.now()
  const read = await readTocChecked(request)
  const tocMs = Date.now() - started
  if ('failed' in read) {
    const report = emptyReport(request, database, undefined)
    report.checks.push(read.failed)
    return report
  }
  const { toc } = read
  const report = emptyReport(request, database, toc)
  report.phaseMs.toc = tocMs
  report.backupAgeSeconds = backupAge(request, toc, now).seconds
  report.checks.push(...(await phase(report, 'integrity', () => integrityChecks(request))))
  report.checks.push(...decidedBeforeRestore(request, toc, now))
  if (blocks(report.checks)) return report
  throwIfCancelled(request.signal)

  const { conn } = request
  const made: { database: boolean; role?: string } = { database: false }
  try {
    const role = await phase(report, 'setup', async () => {
      await sweepStale(conn, now).catch((e: unknown) =>
        log.warning(`could not sweep stale scratch databases: ${errorMessage(e)}`)
      )
      const name = roleName(now)
      request.track?.('restore-role', name)
      made.role = name
      const created = await createScratchRole(conn, name, request.powers, request.jobs + 4)
      request.track?.('database', database)
      made.database = true
      await execute(
        conn,
        conn.adminDatabase,
        `CREATE DATABASE ${quoteIdent(database)} OWNER ${quoteIdent(name)} TEMPLATE template0`
      )
      log.info(`created scratch database ${database} on ${conn.display}, owned by ${name}`)
      await checkRoleLogin(conn, created, database)
      return created
    })
    throwIfCancelled(request.signal)
    await restoreAndMeasure(request, toc, database, role, report)
  } finally {
    await phase(report, 'cleanup', () => dropMade(request, report, made))
  }
  report.passed = report.checks.length > 0 && report.checks.every((c) => c.passed)
  return report
}

/** One line naming every failed check, for the failure message. */
export function failureReasons(checks: CheckResult[]): string {
  return checks
    .filter((c) => !c.passed)
    .map(
      (c) => c.detail ?? `${c.name}: expected ${c.expected}, measured ${c.measured ?? 'nothing'}`
    )
    .join('; ')
}
