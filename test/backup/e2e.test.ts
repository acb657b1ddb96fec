/** The bundled action through the runner protocol, against a real PostgreSQL from the lab. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Lab } from '../../lab/lab.js'
import { runAction, type ActionResult } from '../../lab/runner.js'
import { startPostgres, type Postgres } from '../../lab/services/postgres.js'
import { createShop, dumpInEveryFormat, scratchDatabases, type Dumps } from './fixtures.js'

let lab: Lab
let pg: Postgres
let dumps: Dumps

beforeAll(async () => {
  lab = Lab.create('backup-verify-e2e-')
  pg = await startPostgres(lab)
  await createShop(pg, 'shop')
  dumps = await dumpInEveryFormat(pg, 'shop', lab.mkdir('dumps'))
})

afterAll(async () => {
  await lab?.stop()
})

function expectNoPassword(result: ActionResult): void {
  // `::add-mask::` lines are the masking commands themselves: the runner consumes them.
  const logged = result.stdout
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n')
  const seen = [
    logged,
    result.stderr,
    result.summary,
    JSON.stringify(result.outputs),
    JSON.stringify(result.annotations)
  ]
  for (const text of seen) expect(text).not.toContain(pg.password)
}

describe('backup-verify bundle', () => {
  it('passes a good custom archive and never shows the password', async () => {
    const result = await runAction('backup-verify', {
      backup: dumps.custom,
      'database-url': pg.url,
      'min-rows': 'public.orders>=5000',
      'max-age': '1h',
      'dump-timezone': 'UTC',
      checks: 'customers exist: SELECT count(*) = 200 FROM customers'
    })
    expect(result.exitCode).toBe(0)
    expect(result.outputs.passed).toBe('true')
    expect(result.outputs.rows).toBe('5207')
    expect(Number(result.outputs['backup-age-seconds'])).toBeLessThan(3600)
    expect(result.summary).toContain(
      '| customers exist | one row, one column, true | true | pass |'
    )
    expect(result.masks).toContain(pg.password)
    expectNoPassword(result)
    expect(await scratchDatabases(pg)).toEqual([])
  })

  it('fails a missing table with exit 1 and an error annotation naming it', async () => {
    const result = await runAction('backup-verify', {
      backup: dumps.plainGz,
      'database-url': pg.url,
      'expect-tables': 'public.orders, public.refunds'
    })
    expect(result.exitCode).toBe(1)
    expect(result.outputs.passed).toBe('false')
    const errors = result.annotations.filter((a) => a.level === 'error').map((a) => a.message)
    expect(errors.join('\n')).toContain('table public.refunds is missing')
    expectNoPassword(result)
    expect(await scratchDatabases(pg)).toEqual([])
  })

  it('dry-run: plans in the log and summary, creates no database, passed=dry-run', async () => {
    const databases = (): Promise<string> => pg.psql('SELECT datname FROM pg_database ORDER BY 1')
    const before = await databases()
    const result = await runAction('backup-verify', {
      backup: dumps.directory,
      'database-url': pg.url,
      'dry-run': 'true',
      jobs: '3',
      'max-age': '1h',
      'dump-timezone': 'UTC',
      amcheck: 'true'
    })
    expect(result.exitCode).toBe(0)
    expect(await databases()).toBe(before)
    expect(result.outputs).toEqual({
      passed: 'dry-run',
      'backup-age-seconds': expect.stringMatching(/^\d+$/)
    })
    const command = new RegExp(
      `pg_restore -w -d backup_verify_\\w+ -j 3 --no-owner --no-acl ${dumps.directory}`
    )
    expect(result.stdout).toMatch(command)
    expect(result.summary).toMatch(command)
    expect(result.summary).toContain('pg_amcheck')
    expectNoPassword(result)
  })

  it('exits 2 on a bad input before touching the server', async () => {
    const result = await runAction('backup-verify', {
      backup: dumps.custom,
      'database-url': pg.url,
      'min-rows': 'orders at least 5'
    })
    expect(result.exitCode).toBe(2)
    expect(result.outputs).toEqual({})
    expectNoPassword(result)
  })
})
