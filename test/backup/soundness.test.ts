/** Backups that passed while short or misjudged, against a real PostgreSQL and real pg_dump. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync, writeFileSync } from 'node:fs'
import { Lab } from '../../lab/lab.js'
import { startPostgres, type Postgres } from '../../lab/services/postgres.js'
import { run } from '../../src/actions/backup-verify/main.js'
import { GateError, ToolError } from '../../src/core/errors.js'
import { createShop, fakeIO, pgDump, scratchDatabases, type FakeRun } from './fixtures.js'

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
    await pg.psql(`CREATE ROLE verifier LOGIN CREATEDB PASSWORD 'verifier-pw'`)
    const file = lab.path('guarded.dump')
    await pgDump(pg, 'names', ['-Fc', '-t', 'guarded', '-f', file])
    const url = `postgresql://verifier:verifier-pw@${pg.host}:${pg.port}/postgres`
    const { error, fake } = await outcome({ backup: file, 'no-owner': 'true' }, url)
    expect(error).toBeDefined()
    expect(error?.message).toMatch(/row-level security/)
    expect(fake.outputs.passed).not.toBe('true')
  })
})
