/**
 * One caller run that backs up two databases (two jobs calling backup.yml, as a caller with one
 * job per database or a matrix over them does). A reusable workflow's jobs share the caller's
 * run: github.run_id and run_attempt are the same in both calls, and artifact names are unique
 * per run (upload-artifact v4 answers 409 Conflict to a second upload of a name). Each call
 * must keep, fetch and verify its own dump. Host mode, as backup.act.test.ts (use-containers
 * false, a scratch server). Stand-ins: upload-artifact, download-artifact.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { dirname } from 'node:path'
import { runAct, type ActRun } from '../../lab/act.js'
import { Lab } from '../../lab/lab.js'
import { pgProgram, startPostgres, type Postgres } from '../../lab/services/postgres.js'
import { explain } from './helpers.js'

// Each act run has its own limit (180 s); jest's 120 s default must not cut a slow run on a loaded
// machine short first (the per-run limit stays the bound).
jest.setTimeout(240_000)

const call = (db: string, rows: string) => `
  ${db}:
    uses: example-org/ops-actions/.github/workflows/backup.yml@v1
    permissions:
      id-token: write
    with:
      use-containers: false
      expect-tables: public.${db}
      min-rows: public.${db}>=${rows}
    secrets:
      DATABASE_URL: \${{ secrets.${db.toUpperCase()}_DATABASE_URL }}
      SCRATCH_DATABASE_URL: \${{ secrets.SCRATCH_DATABASE_URL }}
`

const caller = `name: Backups
on:
  schedule:
    - cron: "23 3 * * *"
permissions: {}
jobs:${call('users', '25')}${call('orders', '7')}`

/** The last value set for a step output in the jobs act labels `<caller job>/...`. */
function outputOf(run: ActRun, callerJob: string, name: string): string | undefined {
  return run.outputs.filter((o) => o.job.startsWith(`${callerJob}/`) && o.name === name).at(-1)
    ?.value
}

describe('two backup.yml calls in one caller run', () => {
  const lab = Lab.create()
  let pg: Postgres

  beforeAll(async () => {
    pg = await startPostgres(lab)
    await pg.psql('CREATE DATABASE users')
    await pg.psql('CREATE DATABASE orders')
    await pg.psql(
      'CREATE TABLE users (id int PRIMARY KEY); INSERT INTO users SELECT generate_series(1, 25)',
      'users'
    )
    await pg.psql(
      'CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 7)',
      'orders'
    )
  })
  afterAll(() => lab.stop())

  it('keeps both dumps under their own names and verifies each against its own database', async () => {
    const url = (db: string) => pg.url.replace(/\/postgres$/, `/${db}`)
    const run = await runAct({
      callerFiles: { '.github/workflows/backups.yml': caller },
      workflow: '.github/workflows/backups.yml',
      event: 'schedule',
      secrets: {
        USERS_DATABASE_URL: url('users'),
        ORDERS_DATABASE_URL: url('orders'),
        SCRATCH_DATABASE_URL: pg.url
      },
      env: { PATH: `${dirname(pgProgram('pg_dump'))}:${process.env.PATH}` },
      timeoutMs: 180_000
    })
    if (run.exitCode !== 0) throw new Error(explain(run))
    const names = ['users', 'orders'].map((job) => outputOf(run, job, 'name'))
    expect(names.every((n) => n !== undefined && /^backup-[\w.-]+\.dump$/.test(n))).toBe(true)
    expect(new Set(names).size).toBe(2)
    expect({
      users: outputOf(run, 'users', 'rows'),
      orders: outputOf(run, 'orders', 'rows')
    }).toEqual({ users: '25', orders: '7' })
  })
})
