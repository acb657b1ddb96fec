/**
 * A backup is untrusted input: hostile plain SQL, pg_dumpall output and checks that try to
 * write, against a real PostgreSQL. Each case ran (or passed) before the pre-scan, `\restrict`
 * and the read-only checks role.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { Lab } from '../../lab/lab.js'
import { startPostgres, type Postgres } from '../../lab/services/postgres.js'
import { run } from '../../src/actions/backup-verify/main.js'
import { parseDatabaseUrl } from '../../src/backup/connection.js'
import { inspectBackup } from '../../src/backup/format.js'
import { restoreBackup } from '../../src/backup/restore.js'
import { GateError } from '../../src/core/errors.js'
import { createShop, fakeIO, pgDump, scratchDatabases, type FakeRun } from './fixtures.js'

const execFileAsync = promisify(execFile)

let lab: Lab
let pg: Postgres
let plain: string
const MARKER = '-- PostgreSQL database dump complete'

beforeAll(async () => {
  lab = Lab.create('backup-hostile-')
  pg = await startPostgres(lab)
  await createShop(pg, 'shop')
  plain = lab.path('shop.sql')
  await pgDump(pg, 'shop', ['-Fp', '-f', plain])
})

afterAll(async () => {
  await lab?.stop()
})

afterEach(async () => {
  expect(await scratchDatabases(pg)).toEqual([])
  expect(await pg.psql(`SELECT count(*) FROM pg_roles WHERE rolname LIKE 'backup_verify_%'`)).toBe(
    '0'
  )
})

async function verifyFails(
  inputs: Record<string, string>
): Promise<{ error: Error; fake: FakeRun }> {
  const fake = fakeIO({ 'database-url': pg.url, ...inputs })
  const error = await run(fake.io).then(
    () => new Error('expected the verification to fail'),
    (e: Error) => e
  )
  return { error, fake }
}

/** The real dump with `extra` put in just before its end marker; returns the file and its line. */
function withBeforeEnd(name: string, extra: string): { file: string; line: number } {
  const text = readFileSync(plain, 'utf8')
  const at = text.indexOf(MARKER)
  const line = text.slice(0, at).split('\n').length
  const file = lab.path(name)
  writeFileSync(file, `${text.slice(0, at)}${extra}\n${text.slice(at)}`)
  return { file, line }
}

describe('plain SQL that reaches outside the scratch database is refused before it runs', () => {
  it('`\\! touch FILE` does not create FILE and fails the run, naming the line', async () => {
    const target = lab.path('pwned-shell')
    const { file, line } = withBeforeEnd('shell.sql', `\\! touch ${target}`)
    const { error, fake } = await verifyFails({ backup: file })
    expect(error).toBeInstanceOf(GateError)
    expect(error.message).toContain(`line ${line}: psql meta-command \`\\!\``)
    expect(existsSync(target)).toBe(false)
    expect(fake.outputs.passed).toBe('false')
  })

  it('pg_dumpall output does not change the postgres password nor leave roles', async () => {
    await pg.psql('CREATE ROLE app_owner LOGIN')
    const all = lab.path('all.sql')
    await execFileAsync('pg_dumpall', ['-f', all], { env: { ...process.env, ...pg.env } })
    await pg.psql('DROP ROLE app_owner')
    // What a hostile or careless cluster dump does: a new admin password.
    writeFileSync(all, `${readFileSync(all, 'utf8')}\nALTER ROLE postgres PASSWORD 'owned';\n`)
    const { error } = await verifyFails({ backup: all })
    expect(error.message).toMatch(/line \d+: `CREATE ROLE APP_OWNER`: changes the cluster roles/)
    expect(error.message).toMatch(/psql meta-command `\\connect`/)
    expect(await pg.psql('SELECT 1')).toBe('1') // the password in pg.env still works
    expect(await pg.psql(`SELECT count(*) FROM pg_roles WHERE rolname = 'app_owner'`)).toBe('0')
  })

  it('a `pg_dump -C` dump does not create its database', async () => {
    const file = lab.path('create.sql')
    await pgDump(pg, 'shop', ['-Fp', '-C', '-f', file])
    const { error } = await verifyFails({ backup: file })
    expect(error.message).toMatch(
      /line \d+: `CREATE DATABASE SHOP WITH .*`: acts on another database/
    )
    expect(await pg.psql(`SELECT count(*) FROM pg_database WHERE datname = 'shop'`)).toBe('1')
    expect(await pg.psql(`SELECT count(*) FROM pg_database`)).toBe('4')
  })

  it('server-side COPY TO PROGRAM is refused', async () => {
    const target = lab.path('pwned-copy')
    const { file } = withBeforeEnd(
      'copy.sql',
      `COPY public.customers TO PROGRAM 'touch ${target}';`
    )
    const { error } = await verifyFails({ backup: file })
    expect(error.message).toContain('only `COPY table FROM stdin` is restored')
    expect(existsSync(target)).toBe(false)
  })

  it('what the pre-scan would miss, psql `\\restrict` still refuses, and allow-errors cannot allow it', async () => {
    const target = lab.path('pwned-restrict')
    const file = lab.path('direct.sql')
    writeFileSync(file, `SET a.b = 1;\n\\! touch ${target}\nSET a.c = 2;\n`)
    const conn = parseDatabaseUrl('database-url', pg.url)
    for (const stopOnError of [true, false]) {
      const outcome = await restoreBackup(conn, 'postgres', await inspectBackup(file, 'auto'), {
        jobs: 1,
        stopOnError
      })
      expect(outcome.errors).toContainEqual({
        message:
          'psql: backslash commands are restricted; only \\unrestrict is allowed (script line 2)',
        sqlError: false
      })
      expect(existsSync(target)).toBe(false)
    }
  })
})

describe('archives: the DDL pg_restore would run gets the same pre-scan', () => {
  it('an archive that installs dblink (connections out of the server) is refused', async () => {
    await pg.psql('CREATE DATABASE linked')
    await pg.psql(
      'CREATE EXTENSION dblink; CREATE TABLE t (id int); INSERT INTO t VALUES (1)',
      'linked'
    )
    const file = lab.path('linked.dump')
    await pgDump(pg, 'linked', ['-Fc', '-f', file])
    const { error } = await verifyFails({ backup: file })
    expect(error.message).toMatch(
      /`CREATE EXTENSION IF NOT EXISTS DBLINK .*`: installs an extension/
    )
  })

  it('a normal archive passes the scan', async () => {
    const file = lab.path('shop.dump')
    await pgDump(pg, 'shop', ['-Fc', '-f', file])
    const fake = fakeIO({ 'database-url': pg.url, backup: file })
    await run(fake.io)
    expect(fake.outputs.passed).toBe('true')
  })
})

describe('a plain dump cut short never passes', () => {
  it('cut after the first COPY block: no end marker', async () => {
    const text = readFileSync(plain, 'utf8')
    const firstCopyEnd = text.indexOf('\n\\.\n') + 4
    const file = lab.path('cut.sql')
    writeFileSync(file, text.slice(0, firstCopyEnd))
    const { error } = await verifyFails({ backup: file })
    expect(error.message).toContain('backup is cut short or not a pg_dump script')
  })

  it('cut inside COPY data', async () => {
    const text = readFileSync(plain, 'utf8')
    const file = lab.path('cut-copy.sql')
    writeFileSync(file, text.slice(0, text.indexOf('COPY public.orders') + 2000))
    const { error } = await verifyFails({ backup: file })
    expect(error.message).toContain('ends inside COPY data')
  })
})

describe('values of failing rows stay out of logs, summary and report', () => {
  it('a bad COPY row and a failing INSERT are reported without their values', async () => {
    const { file } = withBeforeEnd(
      'secret.sql',
      [
        'CREATE TABLE public.secrets (id int PRIMARY KEY, token varchar(5), n int CHECK (n > 0));',
        'COPY public.secrets (id, token, n) FROM stdin;',
        'x\thunter2\t1',
        '\\.',
        "INSERT INTO public.secrets VALUES (1, 'swordfish', 1);",
        "INSERT INTO public.secrets VALUES (2, 'sesam', -1);"
      ].join('\n')
    )
    const { error, fake } = await verifyFails({
      backup: file,
      'allow-errors': '/never matches/'
    })
    const report = readFileSync(fake.outputs['report-file'], 'utf8')
    for (const text of [error.message, fake.summary.join(''), report]) {
      expect(text).toContain('invalid input syntax for type integer: (value hidden)')
      expect(text).not.toContain('hunter2')
      expect(text).not.toContain('swordfish')
      expect(text).not.toContain('sesam')
    }
  })
})

describe('checks run as a read-only role, one statement each', () => {
  async function checkFails(sql: string): Promise<string> {
    const { error } = await verifyFails({ backup: plain, checks: `hostile: ${sql}` })
    return error.message
  }

  it('a second statement is refused by the server', async () => {
    const message = await checkFails('SELECT true; CREATE TABLE public.written AS SELECT 1')
    expect(message).toContain('cannot insert multiple commands into a prepared statement')
  })

  it('COPY TO PROGRAM does not run', async () => {
    const target = lab.path('pwned-check')
    const message = await checkFails(`COPY (SELECT 1) TO PROGRAM 'touch ${target}'`)
    expect(message).toMatch(/permission denied|must be superuser|pg_execute_server_program/)
    expect(existsSync(target)).toBe(false)
  })

  it('writes fail (read-only transaction, no write privilege)', async () => {
    const message = await checkFails(
      'WITH d AS (DELETE FROM orders RETURNING 1) SELECT count(*) = 0 FROM d'
    )
    expect(message).toMatch(/read-only transaction|permission denied/)
  })

  it('reads every table (pg_read_all_data)', async () => {
    const fake = fakeIO({
      'database-url': pg.url,
      backup: plain,
      checks: 'orders: SELECT count(*) = 5000 FROM orders'
    })
    await run(fake.io)
    expect(fake.outputs.passed).toBe('true')
  })
})
