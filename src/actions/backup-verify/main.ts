import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { ActionIO } from '../../core/action.js'
import { GateError } from '../../core/errors.js'
import { log } from '../../core/log.js'
import { dropRole, dropScratchDatabase } from '../../backup/cleanup.js'
import { endRestoreGroup } from '../../backup/orphans.js'
import { parseDatabaseUrl } from '../../backup/connection.js'
import { previewRestoreTest } from '../../backup/preview.js'
import {
  backupSummary,
  previewLines,
  summarize,
  summarizePreview,
  writeReportFile
} from './summary.js'
import { effectiveJobs } from '../../backup/restore.js'
import {
  checkServer,
  failureReasons,
  testRestore,
  type ServerInfo,
  type RestoreTestReport,
  type RestoreTestRequest
} from '../../backup/restore-test.js'
import { makeBackup } from '../../backup/make-backup.js'
import {
  prepareBackup,
  readBackupInputs,
  readMode,
  readRestoreTestInputs,
  refuseServiceEnv,
  type PreparedBackup,
  type RestoreTestInputs
} from './inputs.js'

/** State the main step saves for the post step, by what it names. */
const STATE = {
  database: 'scratch-database',
  role: 'checks-role',
  'restore-role': 'restore-role',
  'restore-pid': 'restore-pid'
} as const

/**
 * Post step (always runs, never fails the job): ends a restore a killed main step left running
 * (its process group), then drops the scratch database, the checks role and the restore role
 * the main step created, in case it was cancelled or killed before its own cleanup. On a run
 * that cleaned up, all are already gone (IF EXISTS). keep-database keeps the database and the
 * role that owns it.
 */
export async function post(io: ActionIO): Promise<void> {
  const pid = io.getState(STATE['restore-pid'])
  if (pid) endRestoreGroup(Number(pid))
  const database = io.getState(STATE.database)
  const role = io.getState(STATE.role)
  const restoreRole = io.getState(STATE['restore-role'])
  if (!database && !role && !restoreRole) return
  const conn = parseDatabaseUrl('database-url', io.inputs.required('database-url'))
  const keep = io.inputs.boolean('keep-database', false)
  if (database && !keep) await dropScratchDatabase(conn, database)
  if (role) await dropRole(conn, role)
  if (restoreRole && !keep) await dropRole(conn, restoreRole)
}

/**
 * The runner cancels with SIGINT, then SIGTERM: either aborts the restore test, which stops the
 * restore's process group and drops what it made before the step ends. Only the entry point
 * listens for signals; the library is told through the AbortSignal.
 */
async function withCancel<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  const handler = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) return
    log.warning(`received ${signal}: stopping the restore and dropping the scratch database`)
    controller.abort()
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  try {
    return await work(controller.signal)
  } finally {
    process.off('SIGINT', handler)
    process.off('SIGTERM', handler)
  }
}

function setOutputs(io: ActionIO, report: RestoreTestReport, reportFile: string): void {
  io.setOutput('passed', report.passed)
  io.setOutput('restore-seconds', report.restoreSeconds ?? '')
  io.setOutput('backup-age-seconds', report.backupAgeSeconds ?? '')
  io.setOutput('tables', report.tables)
  io.setOutput('rows', report.rows)
  io.setOutput('size-bytes', report.sizeBytes)
  io.setOutput('report-file', reportFile)
}

/**
 * Preview only: the server checks and the TOC were read, nothing is created. Outputs: `passed` is
 * `dry-run` (or `false` when a check known without a restore fails) and `backup-age-seconds`
 * when known; the others stay empty.
 */
async function dryRun(
  io: ActionIO,
  request: RestoreTestRequest,
  server: ServerInfo
): Promise<void> {
  const preview = await previewRestoreTest(request)
  await log.group('Dry run: what a verification would do', async () => {
    for (const line of previewLines(preview)) log.info(line)
  })
  io.setOutput('passed', preview.passed ? 'dry-run' : 'false')
  io.setOutput('backup-age-seconds', preview.backupAgeSeconds ?? '')
  await io.writeSummary(
    summarizePreview(preview, { display: request.conn.display, version: server.version })
  )
  if (!preview.passed) {
    throw new GateError(
      `backup ${request.source.path} (dry run, nothing restored): ${failureReasons(preview.decided)}`
    )
  }
  log.info('dry run: nothing was created or restored')
}

/** `mode: backup`: the dump and its manifest; nothing is verified in this step. */
async function backup(io: ActionIO): Promise<void> {
  const inputs = readBackupInputs(io.inputs)
  const result = await makeBackup(inputs)
  const { manifest } = result
  const rows = manifest.tables.reduce((sum, t) => sum + t.rows, 0)
  io.setOutput('backup-file', inputs.path)
  io.setOutput('manifest-file', result.manifestPath)
  io.setOutput('tables', manifest.tables.length)
  io.setOutput('rows', rows)
  await io.writeSummary(backupSummary(inputs, result, rows))
  log.info(
    `backup ${inputs.path} and manifest ${result.manifestPath} written in ${Math.round(result.durationMs / 100) / 10} s`
  )
}

export async function run(io: ActionIO): Promise<void> {
  refuseServiceEnv()
  if (readMode(io.inputs) === 'backup') return backup(io)
  const inputs = readRestoreTestInputs(io.inputs)
  const prepared = await prepareBackup(inputs, io.context.tempDir)
  try {
    await testPrepared(io, inputs, prepared)
  } finally {
    await prepared.cleanup()
  }
}

/** Pure: `toc=0.12 setup=0.40 …`, the wall time of each step (the RTO by phase). */
export function formatPhases(phaseMs: Record<string, number>): string {
  return Object.entries(phaseMs)
    .map(([name, ms]) => `${name}=${(ms / 1000).toFixed(2)}`)
    .join(' ')
}

async function testPrepared(
  io: ActionIO,
  inputs: RestoreTestInputs,
  prepared: PreparedBackup
): Promise<void> {
  const server = await checkServer(inputs.conn)
  const { source } = prepared
  const jobs = effectiveJobs(source, inputs.jobs)
  log.info(
    `backup ${source.path}: ${source.format}${source.gzip ? ' (gzip)' : ''}, ${source.sizeBytes} bytes; ` +
      `server ${inputs.conn.display} (PostgreSQL ${server.version}); restore with ${jobs} job(s)` +
      (jobs < inputs.jobs ? ` (the ${source.format} format restores serially)` : '')
  )
  const request: RestoreTestRequest = {
    ...inputs,
    source,
    checks: prepared.checks,
    manifest: prepared.manifest,
    sha256: prepared.sha256,
    amcheck: prepared.amcheckProgram,
    serverVersion: server.version,
    powers: server.powers,
    // The post step drops what these name if this step never gets to (cancel, kill).
    track: (kind, name) => io.saveState(STATE[kind], name)
  }
  if (inputs.dryRun) return dryRun(io, request, server)

  const report = await withCancel((signal) => testRestore({ ...request, signal }))
  log.info(`phases (s): ${formatPhases(report.phaseMs)}`)

  const dir = io.context.tempDir
  await mkdir(dir, { recursive: true })
  const reportFile = join(dir, `${report.database}.json`)
  await writeReportFile(report, reportFile)
  setOutputs(io, report, reportFile)
  await io.writeSummary(summarize(report, reportFile))
  if (!report.passed)
    throw new GateError(
      `backup ${source.givenPath ?? source.path}: ${failureReasons(report.checks)}`
    )
  log.info(
    `backup ${source.path} restored in ${report.restoreSeconds} s and passed ${report.checks.length} checks`
  )
}
