import { readFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { ConfigurationError, errorMessage } from '../../core/errors.js'
import type { Inputs } from '../../core/inputs.js'
import { parseDatabaseUrl } from '../../backup/connection.js'
import {
  BACKUP_FORMATS,
  inspectBackup,
  type BackupFormat,
  type BackupSource
} from '../../backup/format.js'
import { findPgProgram } from '../../backup/programs.js'
import {
  isChecksFile,
  parseCreatedAt,
  parseErrorPatterns,
  parseJobs,
  parseMinRows,
  parseSqlChecks,
  parseTableName,
  type SqlCheck
} from '../../backup/spec.js'
import { parseTimeZone } from '../../backup/wall-time.js'
import { decompressIfNeeded } from '../../backup/decompress.js'
import { log } from '../../core/log.js'
import type { BackupRequest } from '../../backup/make-backup.js'
import type { RestoreTestRequest } from '../../backup/restore-test.js'
import { readSha256Input, type Digests } from '../../backup/integrity.js'
import { parseManifestKey, readManifest, type Manifest } from '../../backup/manifest.js'

/** `mode: backup`: dump a source database with a manifest from the same snapshot. */
export type BackupInputs = BackupRequest

export function readMode(inputs: Inputs): 'verify' | 'backup' {
  return inputs.enum('mode', ['verify', 'backup'], 'verify')
}

export function readBackupInputs(inputs: Inputs): BackupInputs {
  const format = inputs.enum('format', ['auto', 'custom', 'directory'], 'auto')
  return {
    source: parseDatabaseUrl('source-url', inputs.required('source-url')),
    path: inputs.required('backup'),
    format: format === 'directory' ? 'directory' : 'custom',
    jobs: parseJobs('jobs', inputs.raw('jobs'), availableParallelism()),
    compression: parseCompression(inputs.optional('dump-compression')),
    manifestKey: parseManifestKey('manifest-key', inputs.optional('manifest-key'))
  }
}

function parseCompression(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  if (!/^\d$/.test(raw.trim()))
    throw new ConfigurationError(
      `input \`dump-compression\` = \`${raw}\`: expected a pg_dump -Z level from 0 (none) to 9`,
      'dump-compression'
    )
  return Number(raw.trim())
}

/**
 * Everything backup-verify needs, validated; reading it touches no database. The request's own
 * fields as they are; the rest (paths, raw texts) become the request's in prepareBackup.
 */
export interface RestoreTestInputs extends Pick<
  RestoreTestRequest,
  | 'conn'
  | 'jobs'
  | 'expectTables'
  | 'minRows'
  | 'maxAgeMs'
  | 'createdAt'
  | 'dumpTimeZone'
  | 'maxRestoreMs'
  | 'allowErrors'
  | 'noOwner'
  | 'keepDatabase'
> {
  backupPath: string
  format: BackupFormat | 'auto'
  checksRaw: string
  manifestPath?: string
  /** HMAC key the manifest must be signed with. */
  manifestKey?: string
  sha256Raw?: string
  amcheck: boolean
  /** Preview only: read-only checks and the TOC, nothing created. */
  dryRun: boolean
}

/**
 * libpq programs would read a service from PGSERVICE and mix it with `database-url` (host from
 * one, user from the other), while node-postgres ignores it: refuse instead of half-working.
 */
export function refuseServiceEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of ['PGSERVICE', 'PGSERVICEFILE']) {
    if (env[name]) {
      throw new ConfigurationError(
        `environment variable ${name} is set: backup-verify connects only through \`database-url\` (and \`source-url\`), and a service would change what some of its programs connect to; unset ${name} and put host, port, user and options in the URL`,
        'database-url'
      )
    }
  }
}

/** Pure parsing of every input; the first mistake stops the run with a message naming it. */
export function readRestoreTestInputs(inputs: Inputs): RestoreTestInputs {
  const expect = inputs.list('expect-tables')
  const createdAt = inputs.optional('created-at')
  const dumpZone = inputs.optional('dump-timezone')
  return {
    backupPath: inputs.required('backup'),
    format: inputs.enum('format', ['auto', ...BACKUP_FORMATS], 'auto'),
    conn: parseDatabaseUrl('database-url', inputs.required('database-url')),
    jobs: parseJobs('jobs', inputs.raw('jobs'), availableParallelism()),
    expectTables: expect.length ? expect.map((t) => parseTableName('expect-tables', t)) : undefined,
    minRows: parseMinRows('min-rows', inputs.lines('min-rows')),
    checksRaw: inputs.raw('checks'),
    maxAgeMs: inputs.optionalDuration('max-age'),
    createdAt: createdAt === undefined ? undefined : parseCreatedAt('created-at', createdAt),
    manifestPath: inputs.optional('manifest'),
    manifestKey: parseManifestKey('manifest-key', inputs.optional('manifest-key')),
    sha256Raw: inputs.optional('sha256'),
    dumpTimeZone: dumpZone === undefined ? undefined : parseTimeZone('dump-timezone', dumpZone),
    maxRestoreMs: inputs.optionalDuration('max-restore-time'),
    amcheck: inputs.boolean('amcheck', false),
    allowErrors: parseErrorPatterns('allow-errors', inputs.lines('allow-errors')),
    noOwner: inputs.boolean('no-owner', false),
    keepDatabase: inputs.boolean('keep-database', false),
    dryRun: inputs.boolean('dry-run', false)
  }
}

/** Inline `name: SQL` lines, or the file they are kept in. */
export async function loadSqlChecks(raw: string): Promise<SqlCheck[]> {
  if (!isChecksFile(raw)) return parseSqlChecks('checks', raw)
  let text: string
  try {
    text = await readFile(raw.trim(), 'utf8')
  } catch (e) {
    throw new ConfigurationError(
      `input \`checks\` = \`${raw.trim()}\`: cannot read the checks file (${errorMessage(e)}); give a file of \`name: SQL\` lines or such lines inline`,
      'checks'
    )
  }
  return parseSqlChecks('checks', text)
}

export interface PreparedBackup {
  source: BackupSource
  /** Removes the decompressed copy, if one was made. */
  cleanup(): Promise<void>
  checks: SqlCheck[]
  manifest?: Manifest
  sha256?: Digests
  amcheckProgram?: string
}

/**
 * Reads files only (backup header, checks file): still nothing is created in the database; a
 * compressed backup is decompressed under `tempDir`.
 */
export async function prepareBackup(
  inputs: RestoreTestInputs,
  tempDir: string
): Promise<PreparedBackup> {
  const decompressed = await decompressIfNeeded(inputs.backupPath, tempDir)
  const source = decompressed
    ? { ...(await inspectBackup(decompressed.path, inputs.format)), givenPath: inputs.backupPath }
    : await inspectBackup(inputs.backupPath, inputs.format)
  if (decompressed)
    log.info(
      `${inputs.backupPath}: ${decompressed.compression}, decompressed to ${decompressed.path}`
    )
  const checks = await loadSqlChecks(inputs.checksRaw)
  if (inputs.manifestKey && !inputs.manifestPath)
    throw new ConfigurationError(
      'input `manifest-key` is given without `manifest`: the key authenticates the manifest made by mode backup; give its path in `manifest`',
      'manifest-key'
    )
  if (
    source.format === 'plain' &&
    inputs.maxAgeMs !== undefined &&
    !inputs.createdAt &&
    !inputs.manifestPath
  ) {
    throw new ConfigurationError(
      'input `max-age` needs `created-at` for a plain SQL backup: a script does not record when it was made (example: `created-at: 2024-05-01T03:00:00Z`)',
      'created-at'
    )
  }
  return {
    source,
    cleanup: async () => decompressed?.cleanup(),
    checks,
    manifest: inputs.manifestPath
      ? await readManifest('manifest', inputs.manifestPath, inputs.manifestKey)
      : undefined,
    sha256: inputs.sha256Raw
      ? await readSha256Input('sha256', inputs.sha256Raw, source)
      : undefined,
    amcheckProgram: inputs.amcheck ? findPgProgram('pg_amcheck') : undefined
  }
}
