/**
 * Scenario 6: the daily backup template (schedule) run by act: pg_dump of the lab PostgreSQL,
 * kept as an artifact, restored and checked by backup-verify in the next job; a broken dump
 * (cut short, as by a full disk) fails the run. Host mode has no containers, so the caller sets
 * `use-containers: false` and a scratch server (SCRATCH_DATABASE_URL): the path a self-hosted
 * runner next to the database takes. Stand-ins: upload-artifact, download-artifact.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { jobResult, runAct, stepOutput } from '../../lab/act.js'
import { Lab } from '../../lab/lab.js'
import { pgProgram, startPostgres, type Postgres } from '../../lab/services/postgres.js'
import { templateCaller } from './helpers.js'

// Each act run has its own limit (runAct's default, 240 s); jest's 120 s default must not cut a slow run on a loaded
// machine short first (the per-run limit stays the bound).
jest.setTimeout(300_000)

describe('backup template under act (host mode) on a real PostgreSQL', () => {
  const lab = Lab.create()
  let pg: Postgres
  let sourceUrl: string

  beforeAll(async () => {
    pg = await startPostgres(lab)
    await pg.psql('CREATE DATABASE shop')
    await pg.psql(
      "CREATE TABLE users (id int PRIMARY KEY, name text); INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 25) g",
      'shop'
    )
    sourceUrl = pg.url.replace(/\/postgres$/, '/shop')
  })
  afterAll(() => lab.stop())

  const caller = () =>
    templateCaller(
      'backup-verify',
      { runner: 'ubuntu-latest', 'use-containers': false, 'expect-tables': 'public.users' },
      { SCRATCH_DATABASE_URL: '${{ secrets.BACKUP_SCRATCH_DATABASE_URL }}' }
    )

  const run = (path: string) =>
    runAct({
      callerFiles: { '.github/workflows/backup-verify.yml': caller() },
      workflow: '.github/workflows/backup-verify.yml',
      event: 'schedule',
      secrets: { BACKUP_DATABASE_URL: sourceUrl, BACKUP_SCRATCH_DATABASE_URL: pg.url },
      env: { PATH: path }
    })

  const scratchLeft = () =>
    pg.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'backup_verify_%'")

  const pgPath = () => `${dirname(pgProgram('pg_dump'))}:${process.env.PATH}`

  it('dumps, keeps and restores the database; every check passes', async () => {
    const result = await run(pgPath())
    expect({
      exit: result.exitCode,
      dump: jobResult(result, 'dump'),
      verify: jobResult(result, 'verify')
    }).toEqual({ exit: 0, dump: 'success', verify: 'success' })
    // backup-verify's outputs: the one table, its exact row count, passed.
    expect({
      passed: stepOutput(result, 'verify', 'passed'),
      tables: stepOutput(result, 'verify', 'tables'),
      rows: stepOutput(result, 'verify', 'rows')
    }).toEqual({ passed: 'true', tables: '1', rows: '25' })
    expect(await scratchLeft()).toBe('0')
  })

  it('fails the run on a broken dump (cut short after pg_dump wrote it)', async () => {
    const wrapDir = mkdtempSync(join(tmpdir(), 'ops-pgdump-'))
    const wrapper = join(wrapDir, 'pg_dump')
    writeFileSync(
      wrapper,
      `#!/bin/sh\n# lab fault: a dump cut short\n"${pgProgram('pg_dump')}" "$@" || exit $?\nfor a in "$@"; do case "$a" in --file=*) f="\${a#--file=}" ;; esac; done\ntruncate -s 300 "$f"\n`
    )
    chmodSync(wrapper, 0o755)
    const result = await run(`${wrapDir}:${pgPath()}`)
    expect({
      exit: result.exitCode,
      dump: jobResult(result, 'dump'),
      verify: jobResult(result, 'verify')
    }).toEqual({ exit: 1, dump: 'success', verify: 'failure' })
    expect(stepOutput(result, 'verify', 'passed')).not.toBe('true')
    expect(await scratchLeft()).toBe('0')
  })
})
