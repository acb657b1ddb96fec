/**
 * Nothing a restore test creates may outlive it: the post step drops what the state names
 * (after a cancel or a killed main step), and each run first sweeps scratch databases, restore
 * roles and checks roles older than a day, left by runs that could not even run their post step.
 * `DROP DATABASE … WITH (FORCE)` also ends the sessions of a pg_restore orphaned by a SIGKILL,
 * which then exits.
 */
import { errorMessage } from '../core/errors.js'
import { log } from '../core/log.js'
import type { Connection } from './connection.js'
import { READER_PREFIX } from './reader.js'
import { RESTORE_PREFIX } from './scratch-role.js'
import { execute, queryRows, quoteIdent } from './sql.js'

export const SCRATCH_PREFIX = 'backup_verify_'
export const STALE_AFTER_MS = 24 * 3_600_000

/** Pure: when a scratch database or checks role was made, from the stamp in its name. */
export function stampOf(name: string): Date | undefined {
  const m =
    /^backup_verify_(?:reader_|restore_)?(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)_[0-9a-f]+$/.exec(
      name
    )
  if (!m) return undefined
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number)
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s))
}

/** Pure: the names to sweep; a name without a stamp is never ours to drop. */
export function staleNames(names: string[], now: Date, staleAfterMs = STALE_AFTER_MS): string[] {
  return names.filter((n) => {
    const at = stampOf(n)
    return at !== undefined && now.getTime() - at.getTime() > staleAfterMs
  })
}

export async function dropScratchDatabase(conn: Connection, database: string): Promise<void> {
  // WITH (FORCE) (PostgreSQL 13+) ends sessions a killed restore may have left behind.
  await execute(
    conn,
    conn.adminDatabase,
    `DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`
  )
  log.info(`dropped scratch database ${database}`)
}

export async function dropRole(conn: Connection, role: string): Promise<void> {
  await execute(conn, conn.adminDatabase, `DROP ROLE IF EXISTS ${quoteIdent(role)}`)
}

/** Drops stale scratch databases, then stale checks roles; a failure is a warning, never fatal. */
export async function sweepStale(conn: Connection, now: Date): Promise<string[]> {
  const [found] = await queryRows<{ dbs: string[] | null; roles: string[] | null }>(
    conn,
    conn.adminDatabase,
    `SELECT (SELECT array_agg(datname) FROM pg_database WHERE starts_with(datname, '${SCRATCH_PREFIX}')) AS dbs,
            (SELECT array_agg(rolname) FROM pg_roles WHERE starts_with(rolname, '${SCRATCH_PREFIX}')) AS roles`
  )
  const dbs = staleNames(found.dbs ?? [], now).filter(
    (n) => !n.startsWith(READER_PREFIX) && !n.startsWith(RESTORE_PREFIX)
  )
  const roles = staleNames(found.roles ?? [], now)
  const dropped: string[] = []
  for (const db of dbs) {
    await dropScratchDatabase(conn, db).then(
      () => dropped.push(db),
      (e: unknown) => log.warning(`could not drop stale scratch database ${db}: ${errorMessage(e)}`)
    )
  }
  for (const role of roles) {
    await dropRole(conn, role).then(
      () => dropped.push(role),
      (e: unknown) => log.warning(`could not drop stale checks role ${role}: ${errorMessage(e)}`)
    )
  }
  if (dropped.length)
    log.notice(
      `swept ${dropped.length} stale scratch object(s) older than a day: ${dropped.join(', ')}`
    )
  return dropped
}
