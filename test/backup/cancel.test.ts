/**
 * A cancelled or killed run leaves nothing behind: the bundled action through the runner
 * protocol, a slow restore (a CHECK constraint that sleeps per row, restored by pg_restore -j 2)
 * on a real PostgreSQL, then SIGTERM (a cancel) or SIGKILL (main killed; the post step runs).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { Lab } from '../../lab/lab.js'
import { runAction } from '../../lab/runner.js'
import { startPostgres, type Postgres } from '../../lab/services/postgres.js'
import { pgDump, scratchDatabases } from './fixtures.js'

let lab: Lab
let pg: Postgres
let slow: string

beforeAll(async () => {
  lab = Lab.create('backup-cancel-')
  pg = await startPostgres(lab)
  await pg.psql('CREATE DATABASE slow')
  await pg.psql(
    `CREATE FUNCTION public.slow(i int) RETURNS boolean LANGUAGE plpgsql AS $$
       BEGIN IF current_database() LIKE 'backup\\_verify\\_%' THEN PERFORM pg_sleep(0.05); END IF; RETURN true; END $$;
     CREATE TABLE a (id int CHECK (public.slow(id))); INSERT INTO a SELECT generate_series(1, 1200);
     CREATE TABLE b (id int CHECK (public.slow(id))); INSERT INTO b SELECT generate_series(1, 1200)`,
    'slow'
  )
  slow = lab.path('slow.dump')
  await pgDump(pg, 'slow', ['-Fc', '-f', slow])
})

afterAll(async () => {
  await lab?.stop()
})

/** Processes whose command line names the dump (the restore and its -j workers). */
function restoresOf(path: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      if (cmdline.includes('pg_restore') && cmdline.includes(path)) pids.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

async function waitFor(what: string, condition: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await condition()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${what}: not seen in 30 s`)
}

async function scratchRoles(): Promise<string> {
  return pg.psql(`SELECT count(*) FROM pg_roles WHERE rolname LIKE 'backup_verify_%'`)
}

/** Starts the action on the slow dump and sends `signal` once pg_restore and its workers run. */
async function interrupted(signal: NodeJS.Signals): Promise<Awaited<ReturnType<typeof runAction>>> {
  let child: ChildProcess | undefined
  const running = runAction(
    'backup-verify',
    { backup: slow, 'database-url': pg.url, jobs: '2' },
    { onStart: (c) => (child = c), timeoutMs: 120_000 }
  )
  // The leader and two workers: the restore is well under way.
  await waitFor('pg_restore -j 2 with its workers', () => restoresOf(slow).length >= 3)
  child?.kill(signal)
  return running
}

describe('a cancel or a kill mid-restore leaves no restore, database or role', () => {
  it('SIGTERM (cancel): the restore group is stopped and the scratch database and roles dropped by main', async () => {
    const result = await interrupted('SIGTERM')
    expect(result.exitCode).not.toBe(0)
    expect(result.stdout).toContain('received SIGTERM')
    // The library was told through its AbortSignal and ended as "could not verify" (exit 3).
    expect(result.exitCode).toBe(3)
    expect(result.stdout).toMatch(/cancelled/)
    expect(restoresOf(slow)).toEqual([])
    expect(await scratchDatabases(pg)).toEqual([])
    expect(await scratchRoles()).toBe('0')
  })

  it('SIGKILL of main: the post step ends the orphaned restore group and drops what main made', async () => {
    const result = await interrupted('SIGKILL')
    expect(result.signal).toBe('SIGKILL')
    expect(result.post?.exitCode).toBe(0)
    expect(result.post?.stdout).toMatch(
      /ended the restore left running by the main step \(process group \d+\)/
    )
    await waitFor('no pg_restore left', () => restoresOf(slow).length === 0)
    expect(await scratchDatabases(pg)).toEqual([])
    expect(await scratchRoles()).toBe('0')
  })
})
