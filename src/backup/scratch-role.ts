/**
 * Code a backup defines (functions, triggers, defaults, views, SECURITY DEFINER bodies) runs as
 * the role that restores it, and later as whoever owns it. So the restore never runs as the
 * admin of `database-url`: it logs in as a throwaway role made for one run, with no attribute
 * (NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION), no membership (INHERIT only for the
 * implicit pg_database_owner, which owns the public schema), a random name and
 * password, that owns the scratch database and so everything restored into it. What such a
 * role cannot do (server files, programs, other databases, roles, ALTER SYSTEM, untrusted
 * languages, event triggers, SET ROLE to anyone) a backup cannot do either. Counts, sizes and
 * pg_amcheck run as it too.
 */
import { randomBytes } from 'node:crypto'
import { ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import type { Connection } from './connection.js'
import { execute, queryRows, quoteIdent, quoteLiteral } from './sql.js'

export const RESTORE_PREFIX = 'backup_verify_restore_'

export interface ScratchRole {
  role: string
  password: string
  /** Made BYPASSRLS (only a superuser admin may): exact counts of FORCE row-security tables. */
  bypassRls: boolean
}

/** What the admin of `database-url` may do (read before anything is created). */
export interface AdminPowers {
  superuser: boolean
  createDb: boolean
  createRole: boolean
}

/**
 * Pure: why the admin cannot run a safe restore test, if it cannot. A role that may create
 * databases but not roles would have to restore as itself: refused, since the backup's code
 * would run with its powers (and could, for one, change its password).
 */
export function refuseAdmin(powers: AdminPowers, who: string): string | undefined {
  if (powers.superuser) return undefined
  if (!powers.createDb) return `role ${who} may not create databases`
  if (!powers.createRole)
    return `role ${who} may create databases but not roles: backup-verify restores as a throwaway role without privileges (code in a backup runs as the role that restores it) and needs CREATEROLE (or a superuser) to make it; give such a role in \`database-url\``
  return undefined
}

/** Functions and roles that reach the server's files or programs: the new role must hold none. */
const DANGEROUS_FUNCTIONS = [
  'pg_catalog.pg_read_file(text)',
  'pg_catalog.pg_read_binary_file(text)',
  'pg_catalog.pg_ls_dir(text)',
  'pg_catalog.pg_stat_file(text)',
  'pg_catalog.lo_import(text)',
  'pg_catalog.lo_export(oid,text)'
]
const DANGEROUS_ROLES = [
  'pg_read_server_files',
  'pg_write_server_files',
  'pg_execute_server_program',
  'pg_signal_backend'
]

export function roleName(now = new Date()): string {
  const stamp = now.toISOString().replace(/\D/g, '').slice(0, 14)
  return `${RESTORE_PREFIX}${stamp}_${randomBytes(4).toString('hex')}`
}

/** The role's login: the admin's host, port and TLS settings, the role's name and password. */
export function roleConnection(conn: Connection, role: ScratchRole, database: string): Connection {
  return {
    env: { ...conn.env, PGUSER: role.role, PGPASSWORD: role.password },
    adminDatabase: database,
    display: `${role.role}@${conn.env.PGHOST ?? '(local socket)'}:${conn.env.PGPORT ?? '5432'}`
  }
}

/**
 * Creates the role (the caller has tracked `name` for the post step first). A server that
 * grants one of the dangerous functions or roles to PUBLIC makes every role unsafe: refused.
 */
export async function createScratchRole(
  conn: Connection,
  name: string,
  powers: AdminPowers,
  connections: number
): Promise<ScratchRole> {
  const password = randomBytes(24).toString('hex')
  log.secret(password)
  const bypassRls = powers.superuser
  await execute(
    conn,
    conn.adminDatabase,
    `CREATE ROLE ${quoteIdent(name)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION ` +
      `${bypassRls ? 'BYPASSRLS' : 'NOBYPASSRLS'} INHERIT CONNECTION LIMIT ${connections} PASSWORD ${quoteLiteral(password)}`
  )
  // A non-superuser admin must be a member to make it the owner of a database (and drop it).
  if (!powers.superuser)
    await execute(conn, conn.adminDatabase, `GRANT ${quoteIdent(name)} TO CURRENT_USER`)
  const [held] = await queryRows<{ held: string[] | null }>(
    conn,
    conn.adminDatabase,
    `SELECT array_cat(
        (SELECT array_agg(f) FROM unnest(ARRAY[${DANGEROUS_FUNCTIONS.map(quoteLiteral).join(', ')}]) f
          WHERE has_function_privilege(${quoteLiteral(name)}, f, 'EXECUTE')),
        (SELECT array_agg(r) FROM unnest(ARRAY[${DANGEROUS_ROLES.map(quoteLiteral).join(', ')}]) r
          WHERE pg_has_role(${quoteLiteral(name)}, r, 'MEMBER'))) AS held`
  )
  if (held.held?.length) {
    await dropScratchRole(conn, name).catch(() => undefined)
    throw new ToolError(
      `a new role without privileges on ${conn.display} can still use ${held.held.join(', ')} (granted to PUBLIC): a backup restored there could reach the server's files or programs; revoke that from PUBLIC or use another scratch server`
    )
  }
  return { role: name, password, bypassRls }
}

export async function dropScratchRole(conn: Connection, name: string): Promise<void> {
  await execute(conn, conn.adminDatabase, `DROP ROLE IF EXISTS ${quoteIdent(name)}`)
}

/** keep-database: the role stays as the kept database's owner, but may no longer log in. */
export async function lockScratchRole(conn: Connection, name: string): Promise<void> {
  await execute(conn, conn.adminDatabase, `ALTER ROLE ${quoteIdent(name)} NOLOGIN PASSWORD NULL`)
}

/**
 * pg_amcheck as the role: the admin installs amcheck (untrusted, so a superuser must) into
 * pg_catalog of the scratch database, where the backup could not have put anything, and lets
 * the role run its functions only.
 */
export async function grantAmcheck(
  conn: Connection,
  database: string,
  role: string
): Promise<void> {
  await execute(
    conn,
    database,
    `CREATE EXTENSION IF NOT EXISTS amcheck WITH SCHEMA pg_catalog;
     DO $$ DECLARE f regprocedure; BEGIN
       FOR f IN SELECT d.objid::regprocedure FROM pg_catalog.pg_depend d
                 JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
                WHERE e.extname = 'amcheck' AND d.classid = 'pg_catalog.pg_proc'::regclass AND d.deptype = 'e'
       LOOP EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %I', f, ${quoteLiteral(role)}); END LOOP;
     END $$`
  )
}
