/** Backups that passed while short or misjudged, against a real PostgreSQL and real pg_dump. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { Lab } from '../../lab/lab.js'
import { startPostgres, type Postgres } from '../../lab/services/postgres.js'
import { post, run } from '../../src/actions/backup-verify/main.js'
import { GateError, ToolError } from '../../src/core/errors.js'
import { createShop, fakeIO, pgDump, scratchDatabases, type FakeRun } from './fixtures.js'

const execFileAsync = promisify(execFile)

let lab: Lab
let pg: Postgres

beforeAll(async () => {
  lab = Lab.create('backup-sound-')
  pg = await startPostgres(lab)
  await createShop(pg, 'shop')
})

afterAll(async () => {
  await lab?.stop()
})

afterEach(async () => {
  expect(await scratchDatabases(pg)).toEqual([])
})

async function outcome(
  inputs: Record<string, string>,
  url = pg.url
): Promise<{ error?: Error; fake: FakeRun }> {
  const fake = fakeIO({ 'database-url': url, ...inputs })
  const error = await run(fake.io).then(
    () => undefined,
    (e: Error) => e
  )
  return { error, fake }
}

describe('RPO from the archive time, which pg_dump stores as local time without a zone', () => {
  let tokyo: string
  beforeAll(async () => {
    tokyo = lab.path('tokyo.dump')
    await pgDump(pg, 'shop', ['-Fc', '-f', tokyo], 'Asia/Tokyo')
  })

  it('a fresh Tokyo dump no longer shows a negative age: without its zone it cannot pass 1h', async () => {
    const { error, fake } = await outcome({ backup: tokyo, 'max-age': '1h' })
    expect(error).toBeInstanceOf(GateError)
    expect(error?.message).toContain('give `dump-timezone`')
    expect(fake.outputs['backup-age-seconds']).toBe('')
  })

  it('with dump-timezone the age is right', async () => {
    const { error, fake } = await outcome({
      backup: tokyo,
      'max-age': '1h',
      'dump-timezone': 'Asia/Tokyo'
    })
    expect(error).toBeUndefined()
    const age = Number(fake.outputs['backup-age-seconds'])
    expect(age).toBeGreaterThanOrEqual(0)
    expect(age).toBeLessThan(600)
  })

  it('a wrong zone that puts it in the future fails', async () => {
    const { error } = await outcome({ backup: tokyo, 'max-age': '1h', 'dump-timezone': 'UTC' })
    expect(error?.message).toMatch(/is in the future/)
  })

  it('a fresh Los Angeles dump passes with its zone', async () => {
    const la = lab.path('la.dump')
    await pgDump(pg, 'shop', ['-Fc', '-f', la], 'America/Los_Angeles')
    const { error } = await outcome({
      backup: la,
      'max-age': '1h',
      'dump-timezone': 'America/Los_Angeles'
    })
    expect(error).toBeUndefined()
  })
})

describe('dump major version against the server', () => {
  it('a plain dump from a newer major is exit 3 with a hint, not a bad backup', async () => {
    const file = lab.path('newer.sql')
    await pgDump(pg, 'shop', ['-Fp', '-f', file])
    const text = readFileSync(file, 'utf8').replace(
      /^-- Dumped from database version 15\.\d+/m,
      '-- Dumped from database version 17.2'
    )
    writeFileSync(file, text)
    const { error } = await outcome({ backup: file })
    expect(error).toBeInstanceOf(ToolError)
    expect(error?.message).toContain('made by PostgreSQL 17')
    expect(error?.message).toContain('of major version 17 or newer')
  })

  it('a custom archive in a newer archive format is exit 3', async () => {
    const file = lab.path('newer.dump')
    await pgDump(pg, 'shop', ['-Fc', '-f', file])
    const bytes = readFileSync(file)
    bytes[6] = 16 // archive format 1.16: pg_dump 17
    writeFileSync(file, bytes)
    const { error } = await outcome({ backup: file })
    expect(error).toBeInstanceOf(ToolError)
    expect(error?.message).toContain('made by a newer pg_dump')
  })
})

describe('names and row security', () => {
  beforeAll(async () => {
    await pg.psql('CREATE ROLE "app owner"')
    await pg.psql('CREATE DATABASE names')
    await pg.psql(
      [
        'CREATE TABLE "My Table" (id int)',
        'INSERT INTO "My Table" SELECT generate_series(1, 7)',
        'ALTER TABLE "My Table" OWNER TO "app owner"',
        'CREATE MATERIALIZED VIEW mv AS SELECT id FROM "My Table"',
        'CREATE TABLE guarded (id int)',
        'INSERT INTO guarded SELECT generate_series(1, 100)',
        'ALTER TABLE guarded ENABLE ROW LEVEL SECURITY',
        'ALTER TABLE guarded FORCE ROW LEVEL SECURITY'
      ].join(';\n'),
      'names'
    )
  })

  it('an owner name with a space does not corrupt table names from the TOC', async () => {
    const file = lab.path('names.dump')
    await pgDump(pg, 'names', ['-Fc', '-f', file])
    const { error, fake } = await outcome({ backup: file, 'min-rows': '"My Table">=7' })
    expect(error).toBeUndefined()
    const report = JSON.parse(readFileSync(fake.outputs['report-file'], 'utf8'))
    const names = report.checks.map((c: { name: string }) => c.name)
    expect(names).toContain('table public."My Table"')
    expect(names).toContain('table public.mv')
  })

  it('a materialized view can be named in expect-tables', async () => {
    const file = lab.path('names2.dump')
    await pgDump(pg, 'names', ['-Fc', '-f', file])
    const { error } = await outcome({
      backup: file,
      'expect-tables': 'public.mv',
      'min-rows': 'mv>=7'
    })
    expect(error).toBeUndefined()
  })

  it('FORCE row security makes the count fail for a non-superuser, never read 0 of 100', async () => {
    // A non-superuser admin cannot make the restore role BYPASSRLS: the owner is subject to FORCE.
    await pg.psql(`CREATE ROLE verifier LOGIN CREATEDB CREATEROLE PASSWORD 'verifier-pw'`)
    const file = lab.path('guarded.dump')
    await pgDump(pg, 'names', ['-Fc', '-t', 'guarded', '-f', file])
    const url = `postgresql://verifier:verifier-pw@${pg.host}:${pg.port}/postgres`
    const { error, fake } = await outcome({ backup: file, 'no-owner': 'true' }, url)
    expect(error).toBeDefined()
    expect(error?.message).toMatch(/row-level security/)
    expect(fake.outputs.passed).not.toBe('true')
    expect(await scratchDatabases(pg)).toEqual([])
    expect(
      await pg.psql(`SELECT count(*) FROM pg_roles WHERE rolname LIKE 'backup_verify_%'`)
    ).toBe('0')
  })

  it('with a superuser admin the FORCE row security table is counted exactly', async () => {
    const file = lab.path('guarded-super.dump')
    await pgDump(pg, 'names', ['-Fc', '-t', 'guarded', '-f', file])
    const { error } = await outcome({ backup: file, 'min-rows': 'guarded>=100' })
    expect(error).toBeUndefined()
  })

  it('amcheck with a non-superuser admin is "could not verify", never a count of findings', async () => {
    await pg.psql(`CREATE ROLE checker LOGIN CREATEDB CREATEROLE PASSWORD 'checker-pw'`)
    const file = lab.path('amcheck-nonsuper.dump')
    await pgDump(pg, 'names', ['-Fc', '-t', '"My Table"', '-f', file])
    const url = `postgresql://checker:checker-pw@${pg.host}:${pg.port}/postgres`
    const { error } = await outcome({ backup: file, 'no-owner': 'true', amcheck: 'true' }, url)
    expect(error).toBeInstanceOf(GateError)
    expect(error?.message).toMatch(/could not verify: pg_amcheck could not check the database/)
    expect(await scratchDatabases(pg)).toEqual([])
  })

  it('an admin that may create databases but not roles is refused before anything is made', async () => {
    await pg.psql(`CREATE ROLE dbonly LOGIN CREATEDB PASSWORD 'dbonly-pw'`)
    const file = lab.path('guarded-dbonly.dump')
    await pgDump(pg, 'names', ['-Fc', '-t', 'guarded', '-f', file])
    const url = `postgresql://dbonly:dbonly-pw@${pg.host}:${pg.port}/postgres`
    const { error } = await outcome({ backup: file }, url)
    expect(error).toBeInstanceOf(ToolError)
    expect(error?.message).toMatch(/may create databases but not roles.*CREATEROLE/)
    expect(await scratchDatabases(pg)).toEqual([])
  })
})

describe('nothing is left behind', () => {
  it('each run sweeps scratch databases and checks roles older than a day, and only those', async () => {
    const fresh = `backup_verify_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_0f0f0f0f`
    await pg.psql('CREATE DATABASE backup_verify_20200101000000_deadbeef')
    await pg.psql(`CREATE DATABASE ${fresh}`)
    await pg.psql('CREATE DATABASE backup_verify_keep_me')
    await pg.psql('CREATE ROLE backup_verify_reader_20200101000000_deadbeef')
    await pg.psql('CREATE ROLE backup_verify_restore_20200101000000_deadbeef')
    const file = lab.path('sweep.dump')
    await pgDump(pg, 'shop', ['-Fc', '-f', file])
    const { error } = await outcome({ backup: file })
    expect(error).toBeUndefined()
    expect((await scratchDatabases(pg)).sort()).toEqual([fresh, 'backup_verify_keep_me'].sort())
    expect(
      await pg.psql(`SELECT count(*) FROM pg_roles WHERE rolname LIKE 'backup_verify_%'`)
    ).toBe('0')
    await pg.psql(`DROP DATABASE ${fresh}`)
    await pg.psql('DROP DATABASE backup_verify_keep_me')
  })

  it('the post step drops what a killed main step left, ending its sessions', async () => {
    const database = 'backup_verify_20260101000000_abcdef01'
    const role = 'backup_verify_reader_20260101000000_abcdef01'
    await pg.psql(`CREATE DATABASE ${database}`)
    await pg.psql(`CREATE ROLE ${role}`)
    // A session of an orphaned restore, still connected to the scratch database.
    const orphan = execFileAsync('psql', ['-X', '-d', database, '-c', 'SELECT pg_sleep(600)'], {
      env: { ...process.env, ...pg.env }
    }).catch((e: Error) => e)
    await waitFor(
      async () =>
        (await pg.psql(`SELECT count(*) FROM pg_stat_activity WHERE datname = '${database}'`)) ===
        '1'
    )
    const state: Record<string, string> = { 'scratch-database': database, 'checks-role': role }
    const { io } = fakeIO({ 'database-url': pg.url })
    await post({ ...io, getState: (name) => state[name] ?? '' })
    expect(await scratchDatabases(pg)).toEqual([])
    expect(await pg.psql(`SELECT count(*) FROM pg_roles WHERE rolname = '${role}'`)).toBe('0')
    expect(String(await orphan)).toMatch(/terminat/)
  })
})

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await condition()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('condition not met in 10 s')
}
