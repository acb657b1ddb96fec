/**
 * Hostile backups against a real PostgreSQL with a superuser `database-url`: code the backup
 * defines runs only as the throwaway restore role (no attribute, no membership, owner of the
 * scratch database), so each attack below is refused by the server, and nothing is left.
 * Every case passed or wrote its file when the restore ran as the admin.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Lab } from '../../lab/lab.js'
import { startPostgres, type Postgres } from '../../lab/services/postgres.js'
import { run } from '../../src/actions/backup-verify/main.js'
import { ToolError } from '../../src/core/errors.js'
import { fakeIO, pgDump, scratchDatabases } from './fixtures.js'

let lab: Lab
let pg: Postgres
const MARKER = '-- PostgreSQL database dump complete'

beforeAll(async () => {
  lab = Lab.create('backup-role-')
  pg = await startPostgres(lab)
})

afterAll(async () => {
  await lab?.stop()
})

afterEach(async () => {
  expect(await scratchDatabases(pg)).toEqual([])
  expect(await pg.psql(`SELECT count(*) FROM pg_roles WHERE rolname LIKE 'backup_verify_%'`)).toBe(
    '0'
  )
  // The admin's password still works (psql logs in with it over TCP).
  expect(await pg.psql('SELECT 1')).toBe('1')
})

/** A path the server's OS user could write. */
function serverTarget(): string {
  const p = `/tmp/b16-${randomBytes(6).toString('hex')}`
  rmSync(p, { force: true })
  return p
}

async function outcome(inputs: Record<string, string>): Promise<string> {
  const fake = fakeIO({ 'database-url': pg.url, ...inputs })
  return run(fake.io).then(
    () => `passed=${fake.outputs.passed}`,
    (e: Error) => `failed: ${e.message}`
  )
}

function plain(name: string, body: string): string {
  const file = lab.path(name)
  writeFileSync(file, `${body}\n${MARKER}\n`)
  return file
}

/** Guarded so the code runs only inside a scratch database, never while the source is built. */
const IN_SCRATCH = `current_database() LIKE 'backup\\_verify\\_%'`

describe('archives: dump-defined code runs as the restore role', () => {
  it('a SECURITY DEFINER function a check calls cannot read a server file', async () => {
    await pg.psql('CREATE DATABASE definer')
    await pg.psql(
      `CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 10);
       CREATE FUNCTION public.peek() RETURNS text LANGUAGE sql SECURITY DEFINER
         AS $$ SELECT pg_catalog.pg_read_file('PG_VERSION') $$`,
      'definer'
    )
    const file = lab.path('definer.dump')
    await pgDump(pg, 'definer', ['-Fc', '-f', file])
    const result = await outcome({
      backup: file,
      checks: 'peek: SELECT public.peek() IS NOT NULL'
    })
    expect(result).toMatch(
      /^failed: .*check `peek` failed to run: .*permission denied for function pg_read_file/
    )
  })

  it('CHECK constraints (run by COPY) cannot change the admin password nor write a file', async () => {
    const target = serverTarget()
    await pg.psql('CREATE DATABASE indexed')
    await pg.psql(
      `CREATE FUNCTION public.boom(i int) RETURNS int LANGUAGE plpgsql AS $$
       BEGIN IF ${IN_SCRATCH} THEN EXECUTE 'ALTER ROLE postgres PASSWORD ''pwned'''; END IF; RETURN i; END $$;
       CREATE FUNCTION public.leak(i int) RETURNS boolean LANGUAGE plpgsql AS $$
       BEGIN IF ${IN_SCRATCH} THEN PERFORM pg_catalog.lo_export(pg_catalog.lo_from_bytea(0, 'pwned'), '${target}'); END IF; RETURN true; END $$;
       CREATE TABLE u (id int CHECK (public.leak(id)));
       INSERT INTO u SELECT generate_series(1, 3);
       CREATE TABLE w (id int CHECK (public.boom(id) > 0));
       INSERT INTO w SELECT generate_series(1, 3)`,
      'indexed'
    )
    const file = lab.path('indexed.dump')
    await pgDump(pg, 'indexed', ['-Fc', '-f', file])
    const result = await outcome({ backup: file })
    expect(existsSync(target)).toBe(false)
    expect(result).toMatch(
      /^failed: .*permission denied to alter role|^failed: .*must be superuser to alter/
    )
    expect(result).toMatch(/permission denied for function lo_export/)
  })

  it('function bodies the pre-scan cannot read: COPY TO PROGRAM, lo_import, ALTER SYSTEM', async () => {
    const target = serverTarget()
    await pg.psql('CREATE DATABASE bodies')
    await pg.psql(
      `CREATE FUNCTION public.prog(i int) RETURNS boolean LANGUAGE plpgsql AS $$
       BEGIN IF ${IN_SCRATCH} THEN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch ${target}'''; END IF; RETURN true; END $$;
       CREATE FUNCTION public.imp(i int) RETURNS boolean LANGUAGE plpgsql AS $$
       BEGIN IF ${IN_SCRATCH} THEN PERFORM pg_catalog.lo_import('/etc/hostname'); END IF; RETURN true; END $$;
       CREATE FUNCTION public.sys(i int) RETURNS boolean LANGUAGE plpgsql AS $$
       BEGIN IF ${IN_SCRATCH} THEN EXECUTE 'ALTER SYSTEM SET work_mem = ''64MB'''; END IF; RETURN true; END $$;
       CREATE TABLE p (id int CHECK (public.prog(id))); INSERT INTO p VALUES (1);
       CREATE TABLE i (id int CHECK (public.imp(id))); INSERT INTO i VALUES (1);
       CREATE TABLE s (id int CHECK (public.sys(id))); INSERT INTO s VALUES (1)`,
      'bodies'
    )
    const file = lab.path('bodies.dump')
    await pgDump(pg, 'bodies', ['-Fc', '-f', file])
    const result = await outcome({ backup: file })
    expect(existsSync(target)).toBe(false)
    expect(result).toMatch(
      /permission denied to COPY to or from an external program|must be superuser or .*pg_execute_server_program/
    )
    expect(result).toMatch(/permission denied for function lo_import/)
    expect(result).toMatch(
      /ALTER SYSTEM cannot run inside a transaction block|must be superuser to execute ALTER SYSTEM/
    )
    expect(await pg.psql(`SELECT count(*) FROM pg_file_settings WHERE name = 'work_mem'`)).toBe('0')
  })

  it('an untrusted language (plpython3u) is refused by the pre-scan, naming the line', async () => {
    // plpython3u is not installed here: the DDL is written as pg_dump would, and the pre-scan
    // (also run over an archive's DDL) refuses it before anything runs; as the restore role
    // it would fail too (only a superuser may create an untrusted-language function).
    const file = plain(
      'python.sql',
      `CREATE FUNCTION public.py() RETURNS text LANGUAGE plpython3u AS $$ import os; return os.getcwd() $$;`
    )
    expect(await outcome({ backup: file, 'expect-tables': 'public.t' })).toMatch(
      /^failed: .*line 1: .*untrusted language/
    )
  })

  it('the scratch database belongs to a role without attributes or memberships', async () => {
    await pg.psql('CREATE DATABASE plainowner')
    await pg.psql('CREATE TABLE t (id int); INSERT INTO t VALUES (1)', 'plainowner')
    const file = lab.path('plainowner.dump')
    await pgDump(pg, 'plainowner', ['-Fc', '-f', file])
    const owner = `(SELECT datdba FROM pg_database WHERE datname = current_database())`
    const result = await outcome({
      backup: file,
      checks: [
        `unprivileged: SELECT NOT (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication) FROM pg_roles WHERE oid = ${owner}`,
        `no memberships: SELECT count(*) = 0 FROM pg_auth_members WHERE member = ${owner}`,
        `owns the table: SELECT relowner = ${owner} FROM pg_class WHERE relname = 't'`
      ].join('\n')
    })
    expect(result).toBe('passed=true')
  })
})

describe('plain SQL the pre-scan lets through cannot act as the admin', () => {
  it('a trigger calling lo_export, fired by COPY', async () => {
    const target = serverTarget()
    const file = plain(
      'trigger.sql',
      `CREATE FUNCTION public.trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_catalog.lo_export(pg_catalog.lo_from_bytea(0, 'pwned'), '${target}'); RETURN NEW; END $$;
CREATE TABLE public.t (id integer);
CREATE TRIGGER t_ins BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.trg();
COPY public.t (id) FROM stdin;
1
\\.`
    )
    const result = await outcome({ backup: file })
    expect(existsSync(target)).toBe(false)
    expect(result).toMatch(/^failed: .*permission denied for function lo_export/)
  })

  it('a default calling pg_read_file, filled by COPY', async () => {
    const file = plain(
      'default.sql',
      `CREATE TABLE public.t (id integer, v text DEFAULT pg_catalog.pg_read_file('PG_VERSION'));
COPY public.t (id) FROM stdin;
1
\\.`
    )
    expect(await outcome({ backup: file })).toMatch(
      /^failed: .*permission denied for function pg_read_file/
    )
  })

  it('an event trigger', async () => {
    const target = serverTarget()
    const file = plain(
      'event.sql',
      `CREATE FUNCTION public.et() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_catalog.lo_export(pg_catalog.lo_from_bytea(0, 'pwned'), '${target}'); END $$;
CREATE EVENT TRIGGER et ON ddl_command_start EXECUTE FUNCTION public.et();
CREATE TABLE public.t (id integer);`
    )
    const result = await outcome({ backup: file, 'expect-tables': 'public.t' })
    expect(existsSync(target)).toBe(false)
    expect(result).toMatch(/^failed: .*permission denied to create event trigger/)
  })

  it('SET ROLE to the admin', async () => {
    const file = plain(
      'set-role.sql',
      `SET ROLE postgres;
CREATE TABLE public.t AS SELECT pg_catalog.pg_read_file('PG_VERSION') AS v;`
    )
    expect(await outcome({ backup: file, 'expect-tables': 'public.t' })).toMatch(
      /^failed: .*permission denied to set role "postgres"/
    )
  })

  it('SET SESSION AUTHORIZATION is set aside as an owner statement, and gives nothing', async () => {
    const file = plain(
      'session-auth.sql',
      `SET SESSION AUTHORIZATION 'postgres';
CREATE TABLE public.t AS SELECT pg_catalog.pg_read_file('PG_VERSION') AS v;`
    )
    expect(await outcome({ backup: file, 'expect-tables': 'public.t' })).toMatch(
      /^failed: .*permission denied for function pg_read_file/
    )
  })
})

describe('a server that lets only the admin log in', () => {
  it('is refused as "could not run" before anything is restored, never restored as the admin', async () => {
    await pg.psql('CREATE DATABASE onlyadmin')
    await pg.psql('CREATE TABLE t (id int); INSERT INTO t VALUES (1)', 'onlyadmin')
    const file = lab.path('onlyadmin.dump')
    await pgDump(pg, 'onlyadmin', ['-Fc', '-f', file])
    const hba = join(pg.dataDir, 'pg_hba.conf')
    const original = readFileSync(hba, 'utf8')
    writeFileSync(
      hba,
      'local all all trust\nhost all postgres 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 reject\n'
    )
    await pg.psql('SELECT pg_reload_conf()')
    try {
      const fake = fakeIO({ 'database-url': pg.url, backup: file })
      const error = await run(fake.io).then(
        () => undefined,
        (e: Error) => e
      )
      expect(error).toBeInstanceOf(ToolError)
      expect(error?.message).toMatch(
        /the restore role backup_verify_restore_\w+ cannot log in .*never restores as the `database-url` role.*pg_hba.conf/
      )
      expect(fake.outputs.passed).toBeUndefined()
    } finally {
      writeFileSync(hba, original)
      await pg.psql('SELECT pg_reload_conf()')
    }
  })
})
