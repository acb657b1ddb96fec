/**
 * Restores a backup into a scratch database and keeps every error: pg_restore continues past
 * SQL errors and exits 1 at the end, psql stops at the first one with ON_ERROR_STOP; neither
 * outcome is ever read as success here.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { createGunzip } from 'node:zlib'
import { runCommand, formatCommand } from '../core/exec.js'
import { log } from '../core/log.js'
import { envFor, type Connection } from './connection.js'
import type { BackupSource } from './format.js'
import { BlankLines } from './script-lines.js'

export interface RestoreError {
  message: string
  /** The SQL statement that failed, when the tool says. */
  command?: string
  /** An SQL statement failed and the restore went on; anything else (unreadable archive, crash) is fatal. */
  sqlError: boolean
}

export interface RestoreOutcome {
  command: string
  exitCode: number
  timedOut: boolean
  /** Stopped by a cancel (the signal was aborted). */
  aborted: boolean
  durationMs: number
  errors: RestoreError[]
  /** Parallel jobs used (1 when the format restores serially). */
  jobs: number
}

export interface RestoreOptions {
  jobs: number
  timeoutMs?: number
  /**
   * Plain SQL: lines to feed as empty lines (the script's own `\restrict`, `\unrestrict`, and
   * its owner and grant statements, which the restoring role cannot run).
   */
  blankLines?: number[]
  /** Stops the restore (its whole process group) when aborted. */
  signal?: AbortSignal
  /** Told the restore's process group id, so a post step can end it after a SIGKILL of main. */
  onSpawn?: (pid: number) => void
}

/** Where the server quotes table data in an error, and what stands in for it. */
const DATA_IN_ERRORS: [RegExp, string][] = [
  [
    /(invalid input (?:syntax|value) for (?:type )?[^:]*): ".*?"(?=$|\s|\sCONTEXT)/g,
    '$1: (value hidden)'
  ],
  [/(COPY [^,]+, line \d+, column [^:]+): ".*?"(?=$|\s)/g, '$1: (value hidden)'],
  [/(COPY [^,]+, line \d+): ".*"$/g, '$1: (row hidden)'],
  [/(Failing row contains )\(.*\)\./g, '$1(values hidden).'],
  [
    /(Key \([^)]*\))=\(.*?\)( already exists| is not present| is duplicated| conflicts)/g,
    '$1=(…)$2'
  ],
  [/^(INSERT INTO \S+(?: \([^)]*\))?) VALUES .*$/g, '$1 VALUES (values hidden)']
]

/** Pure: an error message or statement with the table data it quotes cut out (logs are public). */
export function maskData(text: string): string {
  return DATA_IN_ERRORS.reduce((out, [pattern, by]) => out.replace(pattern, by), text)
}

/** Pure: the errors in pg_restore's stderr, with the statement each one was running. */
export function parsePgRestoreErrors(stderr: string): RestoreError[] {
  const errors: RestoreError[] = []
  let last: RestoreError | undefined
  for (const line of stderr.split('\n')) {
    // `error: ` since PostgreSQL 12, `[archiver (db)] ` before; TOC-position lines are context.
    const error = /^pg_restore: (?:error: |\[[^\]]*\] )(.*)$/.exec(line)
    if (error && !/PROCESSING TOC|TOC entry/.test(line)) {
      const message = error[1].trim()
      last = { message, sqlError: /could not execute query/.test(message) }
      errors.push(last)
      continue
    }
    if (line.startsWith('pg_restore: ')) {
      last = undefined
      continue
    }
    const command = /^Command was: (.*)$/.exec(line)
    if (command && last) last.command = maskData(command[1].trim())
    else if (last && line.trim() && !last.command) last.message += ` ${maskData(line.trim())}`
  }
  return errors.map((e) => ({ ...e, message: maskData(e.message) }))
}

/** Pure: the errors in psql's stderr (`psql:<file>:<line>: ERROR:  …`). */
export function parsePsqlErrors(stderr: string): RestoreError[] {
  const errors: RestoreError[] = []
  for (const line of stderr.split('\n')) {
    const sql = /^psql:[^:]*:(\d+): (ERROR|FATAL|PANIC): +(.*)$/.exec(line)
    if (sql) {
      errors.push({
        message: `${sql[2]}: ${maskData(sql[3])} (script line ${sql[1]})`,
        sqlError: sql[2] === 'ERROR'
      })
      continue
    }
    // psql's own errors (a refused or failed meta-command) are never SQL errors to allow.
    const meta = /^psql:[^:]*:(\d+): error: +(.*)$/.exec(line)
    if (meta) {
      errors.push({ message: `psql: ${meta[2]} (script line ${meta[1]})`, sqlError: false })
      continue
    }
    const other = /^psql: error: (.*)$/.exec(line)
    if (other) errors.push({ message: other[1], sqlError: false })
  }
  return errors
}

/** A non-zero exit that left no error line is still a failed restore, never a pass. */
function withUnexplainedExit(
  errors: RestoreError[],
  exitCode: number,
  stderr: string
): RestoreError[] {
  if (exitCode === 0 || errors.length > 0) return errors
  const tail = stderr.trim().split('\n').slice(-3).map(maskData).join(' ') || 'no message'
  return [{ message: `exited with ${exitCode}: ${tail}`, sqlError: false }]
}

/** `-j` needs a seekable custom or directory archive; tar and plain SQL restore serially. */
export function effectiveJobs(source: BackupSource, jobs: number): number {
  return source.format === 'custom' || source.format === 'directory' ? jobs : 1
}

/**
 * `pg_restore` into `database`; the connection (and its password) goes in the environment.
 * Always without owners and grants: the throwaway role that restores owns everything it makes
 * (whether the archive's owner roles exist is checked apart, see restore-test.ts).
 */
export function archiveRestoreArgs(
  database: string,
  source: BackupSource,
  options: RestoreOptions
): string[] {
  const jobs = effectiveJobs(source, options.jobs)
  const argv = ['pg_restore', '-w', '-d', database]
  if (jobs > 1) argv.push('-j', String(jobs))
  argv.push('--no-owner', '--no-acl', source.path)
  return argv
}

/**
 * `psql` reading the script on standard input; the database is PGDATABASE in its environment.
 * `\restrict` with a key the script cannot know runs first in the same session, so psql refuses
 * every meta-command of the script (`\!`, `\connect`, `\copy … program`, …) whatever the
 * pre-scan missed.
 */
export function plainRestoreArgs(stopOnError: boolean, restrictKey = '<random key>'): string[] {
  return [
    'psql',
    '-X',
    '-q',
    '-w',
    '-v',
    `ON_ERROR_STOP=${stopOnError ? 1 : 0}`,
    '-c',
    `\\restrict ${restrictKey}`,
    '-f',
    '-'
  ]
}

/** The restore as a reader would type it (for a dry run's preview); never holds the password. */
export function describeRestoreCommand(
  database: string,
  source: BackupSource,
  options: RestoreOptions & { stopOnError: boolean }
): string {
  if (source.format !== 'plain') return formatCommand(archiveRestoreArgs(database, source, options))
  const feed = source.gzip ? `gunzip -c ${formatCommand([source.path])} |` : ''
  const psql = `PGDATABASE=${formatCommand([database])} ${formatCommand(plainRestoreArgs(options.stopOnError))}`
  return source.gzip ? `${feed} ${psql}` : `${psql} < ${formatCommand([source.path])}`
}

async function restoreArchive(
  conn: Connection,
  database: string,
  source: BackupSource,
  options: RestoreOptions
): Promise<RestoreOutcome> {
  const jobs = effectiveJobs(source, options.jobs)
  const argv = archiveRestoreArgs(database, source, options)
  const result = await runCommand(argv, {
    env: envFor(conn, database),
    timeoutMs: options.timeoutMs,
    processGroup: true,
    signal: options.signal,
    onSpawn: options.onSpawn
  })
  return {
    command: formatCommand(argv),
    exitCode: result.code,
    timedOut: result.timedOut,
    aborted: result.aborted === true,
    durationMs: result.durationMs,
    errors: withUnexplainedExit(parsePgRestoreErrors(result.stderr), result.code, result.stderr),
    jobs
  }
}

/**
 * Streams the script into psql's standard input (so `.sql.gz` needs no temporary file).
 * ON_ERROR_STOP unless some errors are allowed: then every error must be seen to be judged.
 */
async function restorePlain(
  conn: Connection,
  database: string,
  source: BackupSource,
  options: RestoreOptions & { stopOnError: boolean }
): Promise<RestoreOutcome> {
  const key = randomBytes(24).toString('hex')
  const argv = plainRestoreArgs(options.stopOnError, key)
  log.info(`$ ${formatCommand(plainRestoreArgs(options.stopOnError))} < ${source.path}`)
  const file = createReadStream(source.path)
  // A read error of the file must reach the stream psql is fed from, gzip or not.
  const gunzip = source.gzip ? createGunzip() : undefined
  if (gunzip) file.on('error', (e) => gunzip.destroy(e))
  // The dump's own `\restrict` lines would fail inside ours: they become empty lines.
  const blank = new BlankLines(options.blankLines ?? [])
  const decoded = gunzip ? file.pipe(gunzip) : file
  decoded.on('error', (e: Error) => blank.destroy(e))
  const result = await runCommand(argv, {
    env: envFor(conn, database),
    input: decoded.pipe(blank),
    timeoutMs: options.timeoutMs,
    echo: false,
    processGroup: true,
    signal: options.signal,
    onSpawn: options.onSpawn
  })
  const exitCode = result.code
  const timedOut = result.timedOut
  const errors = withUnexplainedExit(parsePsqlErrors(result.stderr), exitCode, result.stderr)
  if (result.inputError)
    errors.push({
      message: `the script cannot be read to the end: ${result.inputError.message}`,
      sqlError: false
    })
  return {
    command: formatCommand(argv),
    exitCode,
    timedOut,
    aborted: result.aborted === true,
    durationMs: result.durationMs,
    errors,
    jobs: 1
  }
}

export function restoreBackup(
  conn: Connection,
  database: string,
  source: BackupSource,
  options: RestoreOptions & { stopOnError: boolean }
): Promise<RestoreOutcome> {
  return source.format === 'plain'
    ? restorePlain(conn, database, source, options)
    : restoreArchive(conn, database, source, options)
}
