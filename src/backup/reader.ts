/**
 * User checks run as a throwaway role that holds only `pg_read_all_data`, one statement each
 * over the extended protocol (a second statement is refused by the server), in a read-only
 * transaction that is rolled back, with row security off so a policy errors instead of
 * filtering. The role is made for one run and dropped with the scratch database.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { errorMessage, ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import type { Connection } from './connection.js'
import { execute, quoteIdent, quoteLiteral } from './sql.js'

export const READER_PREFIX = 'backup_verify_reader_'

export interface Reader {
  role: string
  password: string
}

/** Outcome of one check statement: its rows as arrays, or the server's error. */
export type ReaderResult =
  { ok: true; columns: number; rows: unknown[][] } | { ok: false; error: string }

/** The scratch database keeps PUBLIC's CONNECT (the pre-scan refuses database grants): no grant to undo. */
export async function createReader(conn: Connection, now = new Date()): Promise<Reader> {
  const stamp = now.toISOString().replace(/\D/g, '').slice(0, 14)
  const role = `${READER_PREFIX}${stamp}_${randomBytes(4).toString('hex')}`
  const password = randomBytes(24).toString('hex')
  log.secret(password)
  await execute(
    conn,
    conn.adminDatabase,
    `CREATE ROLE ${quoteIdent(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT ` +
      `CONNECTION LIMIT 4 PASSWORD ${quoteLiteral(password)} IN ROLE pg_read_all_data`
  )
  return { role, password }
}

export async function dropReader(conn: Connection, reader: Reader): Promise<void> {
  await execute(conn, conn.adminDatabase, `DROP ROLE IF EXISTS ${quoteIdent(reader.role)}`)
}

/** libpq's environment (as parsed from a URL input) as node-postgres settings; `as` logs in as another role. */
export function clientConfig(conn: Connection, database: string, as?: Reader): pg.ClientConfig {
  const env = conn.env
  const mode = env.PGSSLMODE
  const ssl =
    mode === 'require' || mode === 'verify-ca' || mode === 'verify-full'
      ? {
          rejectUnauthorized: mode !== 'require',
          ca: env.PGSSLROOTCERT ? readFileSync(env.PGSSLROOTCERT, 'utf8') : undefined
        }
      : undefined
  return {
    host: env.PGHOST,
    port: env.PGPORT ? Number(env.PGPORT) : undefined,
    database,
    user: as ? as.role : env.PGUSER,
    password: as ? as.password : env.PGPASSWORD,
    ssl,
    connectionTimeoutMillis: Number(env.PGCONNECT_TIMEOUT ?? '10') * 1000,
    application_name: as ? 'backup-verify checks' : 'backup-verify'
  }
}

/** Runs each statement on one reader session; a statement error is a result, not a throw. */
export async function runAsReader(
  config: pg.ClientConfig,
  statements: string[],
  timeoutMs: number
): Promise<ReaderResult[]> {
  const client = new pg.Client(config)
  client.on('error', () => undefined)
  try {
    await client.connect()
  } catch (e) {
    throw new ToolError(
      `the checks role ${config.user} cannot log in to ${config.host ?? 'localhost'}:${config.port ?? 5432} with a password (${errorMessage(e)}); pg_hba.conf must allow password logins for every role on the scratch server`
    )
  }
  try {
    await client.query(`SET statement_timeout = ${Math.max(1, Math.round(timeoutMs))}`)
    const results: ReaderResult[] = []
    for (const text of statements) {
      await client.query('BEGIN READ ONLY')
      await client.query('SET LOCAL row_security = off')
      try {
        // queryMode is in node-postgres 8.11+, not yet in its types.
        const res = await client.query({
          text,
          rowMode: 'array',
          queryMode: 'extended'
        } as pg.QueryArrayConfig)
        results.push({ ok: true, columns: res.fields.length, rows: res.rows })
      } catch (e) {
        const severity = (e as { severity?: string }).severity
        results.push({ ok: false, error: `${severity ? `${severity}: ` : ''}${errorMessage(e)}` })
      } finally {
        await client.query('ROLLBACK')
      }
    }
    return results
  } finally {
    await client.end().catch(() => undefined)
  }
}
