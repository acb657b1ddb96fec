/**
 * atk16: plain SQL that the pre-scan lets through and that would act on the server as the
 * restoring role, against a real PostgreSQL. The restore runs as a throwaway role without
 * privileges, so what gets through the scan still cannot reach the server's files.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { Lab } from '../../lab/lab.js'
import { startPostgres, type Postgres } from '../../lab/services/postgres.js'
import { run } from '../../src/actions/backup-verify/main.js'
import { createShop, fakeIO, pgDump } from './fixtures.js'

let lab: Lab
let pg: Postgres
let plain: string
const MARKER = '-- PostgreSQL database dump complete'

beforeAll(async () => {
  lab = Lab.create('backup-atk16-')
  pg = await startPostgres(lab)
  await createShop(pg, 'shop')
  plain = lab.path('shop.sql')
  await pgDump(pg, 'shop', ['-Fp', '-f', plain])
})

afterAll(async () => {
  await lab?.stop()
})

function withBeforeEnd(name: string, extra: string): string {
  const text = readFileSync(plain, 'utf8')
  const at = text.indexOf(MARKER)
  const file = lab.path(name)
  writeFileSync(file, `${text.slice(0, at)}${extra}\n${text.slice(at)}`)
  return file
}

/** A path the server's OS user can write (the server runs as `postgres`). */
function serverTarget(): string {
  const p = `/tmp/atk16-${randomBytes(6).toString('hex')}`
  rmSync(p, { force: true })
  return p
}

async function outcome(file: string): Promise<string> {
  const fake = fakeIO({ 'database-url': pg.url, backup: file })
  return run(fake.io).then(
    () => `passed=${fake.outputs.passed}`,
    (e: Error) => `failed: ${e.message.slice(0, 300)}`
  )
}

describe('pre-scan bypasses: a server file is written during the restore', () => {
  it('SELECT pg_catalog.set_config(...), lo_export(...): only the head is compared', async () => {
    const target = serverTarget()
    const file = withBeforeEnd(
      'select-tail.sql',
      `SELECT pg_catalog.set_config('search_path', '', false), pg_catalog.lo_from_bytea(4242, 'pwned');\nSELECT pg_catalog.set_config('search_path', '', false), pg_catalog.lo_export(4242, '${target}');`
    )
    const result = await outcome(file)
    expect(existsSync(target)).toBe(false)
    expect(result).toMatch(/^failed: .*pre-scan|^failed: .*line \d+/)
  })

  // The scan lets CREATE TABLE … AS through (pg_dump never writes it, but it is DDL): the
  // restore role may not call lo_export, so the file is not written and the restore fails.
  it('CREATE TABLE ... AS SELECT lo_export(...) is not a query to the scan', async () => {
    const target = serverTarget()
    const file = withBeforeEnd(
      'ctas.sql',
      `CREATE TABLE public.atk AS SELECT pg_catalog.lo_from_bytea(4243, 'pwned');\nCREATE TABLE public.atk2 AS SELECT pg_catalog.lo_export(4243, '${target}');`
    )
    const result = await outcome(file)
    expect(existsSync(target)).toBe(false)
    expect(result).toMatch(/^failed: .*permission denied for function lo_\w+ \(script line \d+\)/)
  })

  it('COPY ... FROM PROGRAM ... WHERE ... FROM stdin (a column named stdin)', async () => {
    const target = serverTarget()
    const file = withBeforeEnd(
      'copy-where.sql',
      `CREATE TABLE public.atk (stdin int);\nCOPY public.atk (stdin) FROM PROGRAM 'touch ${target}' WHERE 1 IS DISTINCT FROM stdin;\n\\.`
    )
    const result = await outcome(file)
    expect(existsSync(target)).toBe(false)
    expect(result).toMatch(/^failed: .*pre-scan|^failed: .*line \d+/)
  })

  it('CREATE EXTENSION "dblink" (a quoted name) then dblink_exec creates a database', async () => {
    const file = withBeforeEnd(
      'dblink.sql',
      `CREATE EXTENSION "dblink" SCHEMA public;\nCREATE TABLE public.atk AS SELECT public.dblink_exec('host=127.0.0.1 port=${pg.port} dbname=postgres user=${pg.user} password=${pg.password}', 'CREATE DATABASE atk16_pwned');`
    )
    const result = await outcome(file)
    const made = await pg.psql(`SELECT count(*) FROM pg_database WHERE datname = 'atk16_pwned'`)
    expect(made).toBe('0')
    expect(result).toMatch(/^failed: .*line \d+/)
  })
})

describe('pg_dump-shaped SQL runs dump-defined code only as the unprivileged restore role', () => {
  it('REFRESH MATERIALIZED VIEW of a view calling lo_export does not write a server file', async () => {
    const target = serverTarget()
    const file = withBeforeEnd(
      'matview.sql',
      `BEGIN;\nSELECT pg_catalog.lo_create('4244');\nSELECT pg_catalog.lo_open('4244', 131072);\nSELECT pg_catalog.lowrite(0, '\\x70776e6564');\nSELECT pg_catalog.lo_close(0);\nCOMMIT;\n` +
        `CREATE MATERIALIZED VIEW public.atk_mv AS SELECT pg_catalog.lo_export(4244, '${target}') AS x WITH NO DATA;\nREFRESH MATERIALIZED VIEW public.atk_mv;`
    )
    const result = await outcome(file)
    expect(existsSync(target)).toBe(false)
    expect(result).toMatch(/^failed: .*permission denied for function lo_\w+/)
  })
})

describe('psql variable interpolation re-lexes text the pre-scan never saw', () => {
  it(':LAST_ERROR_MESSAGE carries a statement from an error message into the script', async () => {
    const file = withBeforeEnd(
      'variable.sql',
      `CREATE TABLE public.atk (a int);\nINSERT INTO public.atk VALUES ('a"; CREATE DATABASE atk16_var; --');\n:LAST_ERROR_MESSAGE;`
    )
    const fake = fakeIO({
      'database-url': pg.url,
      backup: file,
      'allow-errors': 'invalid input syntax\nsyntax error'
    })
    const result = await run(fake.io).then(
      () => `passed=${fake.outputs.passed}`,
      (e: Error) => `failed: ${e.message.slice(0, 300)}`
    )
    const made = await pg.psql(`SELECT count(*) FROM pg_database WHERE datname = 'atk16_var'`)
    expect({ made, result }).toMatchObject({ made: '0' })
    expect(result).toMatch(/^failed: .*line \d+/)
  })
})
