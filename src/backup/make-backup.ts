/**
 * `mode: backup`: pg_dump and its manifest from one snapshot. A repeatable-read, read-only
 * transaction exports its snapshot and stays open while `pg_dump --snapshot` dumps exactly that
 * state and this session counts every table in it (row security off, so a policy errors
 * instead of hiding rows). The manifest then records the files' sha256.
 */
import { mkdir, open, writeFile } from 'node:fs/promises'
import pg from 'pg'
import { ConfigurationError, ToolError, errorMessage } from '../core/errors.js'
import { formatCommand, runCommand } from '../core/exec.js'
import { log } from '../core/log.js'
import { envFor, type Connection } from './connection.js'
import type { BackupSource } from './format.js'
import { digestBackup } from './integrity.js'
import { MANIFEST_FORMAT, signManifest, type Manifest, type ManifestTable } from './manifest.js'
import { clientConfig } from './reader.js'

export interface BackupRequest {
  source: Connection
  path: string
  format: 'custom' | 'directory'
  jobs: number
  /** pg_dump -Z level 0-9; undefined: pg_dump's default. */
  compression?: number
  /** Signs the manifest (HMAC-SHA256) when given. */
  manifestKey?: string
}

export interface BackupResult {
  manifest: Manifest
  manifestPath: string
  durationMs: number
}

/** Leaf tables and populated materialized views: what carries data in a dump. */
const TABLES_SQL = `SELECT n.nspname AS schema, c.relname AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm') AND (c.relkind <> 'm' OR c.relispopulated)
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
 ORDER BY 1, 2`

export function pgDumpArgs(request: BackupRequest, snapshot: string): string[] {
  const argv = [
    'pg_dump',
    '-w',
    `--snapshot=${snapshot}`,
    request.format === 'directory' ? '-Fd' : '-Fc'
  ]
  if (request.format === 'directory' && request.jobs > 1) argv.push('-j', String(request.jobs))
  if (request.compression !== undefined) argv.push('-Z', String(request.compression))
  argv.push('-f', request.path)
  return argv
}

async function countInSnapshot(
  client: pg.Client
): Promise<{ tables: ManifestTable[]; largeObjects: number }> {
  const list = await client.query<{ schema: string; name: string }>(TABLES_SQL)
  const tables: ManifestTable[] = []
  for (const t of list.rows) {
    const ident = client.escapeIdentifier(t.schema) + '.' + client.escapeIdentifier(t.name)
    const res = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ONLY ${ident}`)
    tables.push({ schema: t.schema, name: t.name, rows: Number(res.rows[0].n) })
  }
  const lo = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_largeobject_metadata')
  return { tables, largeObjects: Number(lo.rows[0].n) }
}

export async function makeBackup(request: BackupRequest): Promise<BackupResult> {
  const { source } = request
  // Reserved atomically (an exclusive create, or mkdir), so that of two runs given one path only
  // one ever runs pg_dump into it: pg_dump -f itself would write over a file made meanwhile.
  const reserve =
    request.format === 'directory'
      ? mkdir(request.path)
      : open(request.path, 'wx').then((f) => f.close())
  const exists = await reserve.then(
    () => false,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') return true
      throw new ConfigurationError(
        `input \`backup\` = \`${request.path}\`: cannot be created: ${e.message}`,
        'backup'
      )
    }
  )
  if (exists) {
    throw new ConfigurationError(
      `input \`backup\` = \`${request.path}\`: already exists; mode backup writes a new dump and never overwrites one`,
      'backup'
    )
  }
  const database = source.adminDatabase
  const client = new pg.Client(clientConfig(source, database))
  client.on('error', () => undefined)
  const started = Date.now()
  try {
    await client.connect()
  } catch (e) {
    throw new ToolError(
      `cannot connect to the source database ${database} on ${source.display}: ${errorMessage(e)}`
    )
  }
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    await client.query('SET LOCAL row_security = off')
    const snap = await client.query<{ snapshot: string; at: Date; version: string }>(
      `SELECT pg_export_snapshot() AS snapshot, now() AS at, current_setting('server_version') AS version`
    )
    const { snapshot, at, version } = snap.rows[0]
    const argv = pgDumpArgs(request, snapshot)
    log.info(`$ ${formatCommand(argv)} (snapshot of ${at.toISOString()})`)
    const [dump, counted] = await Promise.all([
      runCommand(argv, { env: envFor(source, database), echo: false }),
      countInSnapshot(client)
    ])
    if (dump.code !== 0) {
      throw new ToolError(
        `pg_dump failed (exit ${dump.code}): ${dump.stderr.trim().split('\n').slice(-3).join(' ')}`
      )
    }
    const files = Object.fromEntries(
      await digestBackup({
        path: request.path,
        format: request.format,
        gzip: false,
        sizeBytes: 0
      } as BackupSource)
    )
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      createdAt: at.toISOString(),
      database,
      serverVersion: version,
      ...counted,
      files
    }
    if (request.manifestKey) manifest.signature = signManifest(manifest, request.manifestKey)
    const manifestPath = `${request.path.replace(/\/+$/, '')}.manifest.json`
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`, { flag: 'wx' })
    return { manifest, manifestPath, durationMs: Date.now() - started }
  } finally {
    await client.query('ROLLBACK').catch(() => undefined)
    await client.end().catch(() => undefined)
  }
}
