/** backup-verify against a real PostgreSQL cluster from the lab, with real pg_dump archives. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { copyFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { Lab } from '../../lab/lab.js'
import { freePort } from '../../lab/ports.js'
import { startPostgres, type Postgres } from '../../lab/services/postgres.js'
import { run } from '../../src/actions/backup-verify/main.js'
import { ConfigurationError, GateError, ToolError } from '../../src/core/errors.js'
import {
  createShop,
  dumpInEveryFormat,
  dumpWithMissingOwner,
  fakeIO,
  scratchDatabases,
  SHOP_TABLES,
  SHOP_TABLE_COUNT,
  type Dumps,
  type FakeRun
} from './fixtures.js'

let lab: Lab
let pg: Postgres
let dumps: Dumps
let ghostDump: string
let dumpedAt: number

beforeAll(async () => {
  lab = Lab.create('backup-verify-')
  pg = await startPostgres(lab)
  await createShop(pg, 'shop')
  dumpedAt = Date.now()
  dumps = await dumpInEveryFormat(pg, 'shop', lab.mkdir('dumps'))
  ghostDump = await dumpWithMissingOwner(pg, lab.path('dumps'))
})

afterAll(async () => {
  await lab?.stop()
})

afterEach(async () => {
  expect(await scratchDatabases(pg)).toEqual([])
})

async function verify(inputs: Record<string, string>): Promise<FakeRun> {
  const fake = fakeIO({ 'database-url': pg.url, ...inputs })
  await run(fake.io)
  return fake
}

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

const totalRows = Object.values(SHOP_TABLES).reduce((a, b) => a + b, 0)

describe('a good backup in every format passes', () => {
  it.each([
    ['custom', 'custom'],
    ['directory', 'directory'],
    ['tar', 'tar'],
    ['plain', 'plain'],
    ['plainGz', 'plain']
  ] as const)('%s', async (which, format) => {
    const { outputs, summary } = await verify({
      backup: dumps[which],
      'min-rows': 'public.orders>=5000\ncustomers >= 200\nreadings>=5',
      checks:
        'orders have customers: SELECT count(*) = 0 FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL\nview works: SELECT count(*) > 0 FROM big_orders',
      jobs: '2'
    })
    expect(outputs.passed).toBe('true')
    expect(Number(outputs.tables)).toBe(SHOP_TABLE_COUNT)
    expect(Number(outputs.rows)).toBe(totalRows)
    expect(Number(outputs['size-bytes'])).toBeGreaterThan(1_000_000)
    expect(Number(outputs['restore-seconds'])).toBeGreaterThan(0)
    const report = JSON.parse(readFileSync(outputs['report-file'], 'utf8'))
    expect(report.backup.format).toBe(format)
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining([
        'restore',
        'table public.orders',
        'rows in public.orders',
        'view works'
      ])
    )
    expect(summary.join('')).toContain('| rows in public.orders | >= 5000 | 5000 | pass |')
  })

  it.each(['1', '3', '16'])(
    'counts every table exactly once whatever the number of counting sessions (jobs %s)',
    async (jobs) => {
      const { outputs } = await verify({ backup: dumps.custom, jobs })
      expect(outputs.passed).toBe('true')
      expect(Number(outputs.tables)).toBe(SHOP_TABLE_COUNT)
      expect(Number(outputs.rows)).toBe(totalRows)
    }
  )

  it('reads the creation time from the archive TOC and checks max-age and max-restore-time', async () => {
    const { outputs } = await verify({
      backup: dumps.custom,
      'max-age': '1h',
      'dump-timezone': 'UTC',
      'max-restore-time': '5m'
    })
    const age = Number(outputs['backup-age-seconds'])
    expect(age).toBeGreaterThanOrEqual(0)
    expect(age).toBeLessThanOrEqual(Math.ceil((Date.now() - dumpedAt) / 1000) + 1)
  })

  it('accepts a listed restore error and keeps the database when asked', async () => {
    const { outputs } = await verify({
      backup: ghostDump,
      'allow-errors': 'role "ghost" does not exist',
      'keep-database': 'true'
    })
    expect(outputs.passed).toBe('true')
    const kept = await scratchDatabases(pg)
    expect(kept).toHaveLength(1)
    expect(await pg.psql('SELECT count(*) FROM haunted', kept[0])).toBe('1')
    await pg.psql(`DROP DATABASE ${kept[0]}`)
  })

  it('runs pg_amcheck on the restored database', async () => {
    const { outputs } = await verify({ backup: dumps.directory, amcheck: 'true' })
    const report = JSON.parse(readFileSync(outputs['report-file'], 'utf8'))
    expect(report.checks).toContainEqual(expect.objectContaining({ kind: 'amcheck', passed: true }))
  })

  it('restores archives whose roles are missing with no-owner', async () => {
    const { outputs } = await verify({ backup: ghostDump, 'no-owner': 'true' })
    expect(outputs.passed).toBe('true')
  })
})

describe('a bad backup fails, naming the cause', () => {
  it('truncated archive', async () => {
    const file = lab.path('dumps', 'truncated.dump')
    copyFileSync(dumps.custom, file)
    truncateSync(file, Math.floor(statSync(file).size / 2))
    // One job: with -j 2 the parent may report only "a worker process died unexpectedly".
    const { error, fake } = await verifyFails({ backup: file, jobs: '1' })
    expect(error).toBeInstanceOf(GateError)
    expect(error.message).toMatch(/restore failed: .*could not read from input file: end of file/)
    expect(fake.outputs.passed).toBe('false')
  })

  it('corrupted byte', async () => {
    const file = lab.path('dumps', 'corrupt.dump')
    const bytes = readFileSync(dumps.custom)
    const at = Math.floor(bytes.length * 0.6)
    bytes[at] = bytes[at] ^ 0xff
    writeFileSync(file, bytes)
    const { error } = await verifyFails({ backup: file })
    expect(error).toBeInstanceOf(GateError)
    expect(error.message).toContain('restore failed: could not uncompress data')
  })

  it('missing expected table', async () => {
    const { error } = await verifyFails({
      backup: dumps.custom,
      'expect-tables': 'public.orders, public.invoices'
    })
    expect(error).toBeInstanceOf(GateError)
    expect(error.message).toContain('table public.invoices is missing')
  })

  it('empty table below min-rows', async () => {
    const { error } = await verifyFails({
      backup: dumps.directory,
      'min-rows': 'public.empty_audit>=1'
    })
    expect(error.message).toContain('table public.empty_audit has 0 rows, expected at least 1')
  })

  it('stale archive past max-age', async () => {
    const wait = dumpedAt + 2100 - Date.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    const { error, fake } = await verifyFails({
      backup: dumps.custom,
      'max-age': '1s',
      'dump-timezone': 'UTC'
    })
    expect(error.message).toMatch(/older than max-age 1\.0s/)
    expect(Number(fake.outputs['backup-age-seconds'])).toBeGreaterThanOrEqual(1)
  })

  it('stale plain SQL past max-age (created-at)', async () => {
    const { error } = await verifyFails({
      backup: dumps.plain,
      'max-age': '26h',
      'created-at': '2020-01-01T00:00:00Z'
    })
    expect(error.message).toContain('backup made 2020-01-01T00:00:00.000Z is older than max-age')
  })

  it('restore slower than max-restore-time is stopped', async () => {
    const { error, fake } = await verifyFails({ backup: dumps.custom, 'max-restore-time': '1ms' })
    expect(error.message).toContain('restore took longer than max-restore-time 1ms')
    expect(fake.outputs.passed).toBe('false')
  })

  it('failing SQL check', async () => {
    const { error } = await verifyFails({
      backup: dumps.tar,
      checks: 'big spenders: SELECT max(amount) > 1000000 FROM orders\nfine: SELECT true'
    })
    expect(error.message).toContain('check `big spenders` returned false, expected true')
    expect(error.message).not.toContain('fine')
  })

  it('SQL check that errors or returns no boolean', async () => {
    const { error } = await verifyFails({
      backup: dumps.custom,
      checks: 'typo: SELECT count(*) > 0 FROM ordrs\nnot boolean: SELECT 1'
    })
    expect(error.message).toMatch(
      /check `typo` failed to run: ERROR: +relation "ordrs" does not exist/
    )
    expect(error.message).toContain('check `not boolean` returned 1, expected true')
  })

  it('SQL checks run read-only', async () => {
    const { error } = await verifyFails({
      backup: dumps.custom,
      checks: "sneaky: SELECT setval('empty_audit_id_seq', 100) > 0"
    })
    expect(error.message).toMatch(/read-only transaction|permission denied/)
  })

  it('restore error: table owned by a missing role, without no-owner', async () => {
    const { error, fake } = await verifyFails({ backup: ghostDump })
    expect(error).toBeInstanceOf(GateError)
    expect(error.message).toContain('role "ghost" does not exist')
    expect(error.message).toContain('ALTER TABLE public.haunted OWNER TO ghost')
    expect(fake.summary.join('')).toContain('Restore errors (1)')
  })

  it('restore error in a plain SQL script stops psql (ON_ERROR_STOP)', async () => {
    const file = lab.path('dumps', 'broken.sql')
    const marker = '-- PostgreSQL database dump complete'
    const script = readFileSync(dumps.plain, 'utf8')
    writeFileSync(file, script.replace(marker, `INSERT INTO no_such_table VALUES (1);\n${marker}`))
    const { error } = await verifyFails({ backup: file })
    expect(error.message).toMatch(
      /ERROR: relation "no_such_table" does not exist \(script line \d+\)/
    )
  })

  it('a TOC that lists no table data cannot pass', async () => {
    const file = lab.path('dumps', 'empty.sql')
    writeFileSync(file, '-- nothing here\nSET a = 1;\n-- PostgreSQL database dump complete\n')
    const { error } = await verifyFails({ backup: file })
    expect(error.message).toContain('could not verify: the backup lists no table data')
  })
})

describe('bad inputs fail before anything is created', () => {
  it('unreachable server', async () => {
    const port = await freePort()
    const fake = fakeIO({
      backup: dumps.custom,
      'database-url': `postgresql://postgres:secretpw@127.0.0.1:${port}/postgres`
    })
    await expect(run(fake.io)).rejects.toThrow(ToolError)
    expect(fake.outputs).toEqual({})
  })

  it('unreadable backup file', async () => {
    const { error } = await verifyFails({ backup: lab.path('dumps', 'nope.dump') })
    expect(error).toBeInstanceOf(ConfigurationError)
    expect(error.message).toMatch(/input `backup` = `.*nope\.dump`: cannot read it/)
  })

  it('malformed min-rows, even with an unreachable server', async () => {
    const fake = fakeIO({
      backup: dumps.custom,
      'database-url': 'postgresql://u:pw@127.0.0.1:1/x',
      'min-rows': 'orders > 5'
    })
    await expect(run(fake.io)).rejects.toThrow(
      /input `min-rows` line `orders > 5`: expected `table>=count`/
    )
  })

  it('malformed database-url is not echoed', async () => {
    const fake = fakeIO({ backup: dumps.custom, 'database-url': 'mysql://u:hunter22@db/x' })
    const error = await run(fake.io).catch((e: Error) => e)
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as Error).message).not.toContain('hunter22')
  })

  it('max-age on plain SQL without created-at', async () => {
    const { error } = await verifyFails({ backup: dumps.plain, 'max-age': '26h' })
    expect(error).toBeInstanceOf(ConfigurationError)
    expect(error.message).toContain('`created-at`')
  })

  it('format given that does not match the content', async () => {
    const { error } = await verifyFails({ backup: dumps.tar, format: 'custom' })
    expect(error.message).toContain('input `format` says custom, but the content is a tar backup')
  })

  it('unreadable checks file', async () => {
    const { error } = await verifyFails({ backup: dumps.custom, checks: lab.path('no-checks.txt') })
    expect(error.message).toMatch(/input `checks` = .*: cannot read the checks file/)
  })
})

describe('dry-run: plans from the TOC, creates nothing', () => {
  const databases = (): Promise<string> => pg.psql('SELECT datname FROM pg_database ORDER BY 1')

  it('prints the restore command, tables and checks; outputs passed=dry-run', async () => {
    const before = await databases()
    const { outputs, summary } = await verify({
      backup: dumps.custom,
      'dry-run': 'true',
      jobs: '2',
      'max-age': '1h',
      'dump-timezone': 'UTC',
      'min-rows': 'public.orders>=5000',
      checks: 'customers exist: SELECT count(*) = 200 FROM customers',
      'no-owner': 'true'
    })
    expect(await databases()).toBe(before)
    expect(outputs).toEqual({
      passed: 'dry-run',
      'backup-age-seconds': expect.stringMatching(/^\d+$/)
    })
    expect(Number(outputs['backup-age-seconds'])).toBeLessThan(3600)
    const text = summary.join('')
    expect(text).toMatch(
      new RegExp(
        `pg_restore -w -d backup_verify_\\d{14}_[0-9a-f]{8} -j 2 --no-owner --no-acl ${dumps.custom}`
      )
    )
    expect(text).toContain(
      `| expected tables | ${Object.keys(SHOP_TABLES).length} (from table of contents) |`
    )
    expect(text).toContain('"Sales Dept"."Big Orders"')
    expect(text).toContain('rows in public.orders: >= 5000')
    expect(text).toContain(
      'SQL check `customers exist` (read-only): SELECT count(*) = 200 FROM customers'
    )
    expect(text).toMatch(/\| backup age \(RPO\) \| <= 1h00m \| (\d+m)?\d+(\.\d)?s \| pass \|/)
    expect(text).not.toContain(pg.password)
  })

  it('plain SQL (gzip): the psql pipeline, expect-tables from the input', async () => {
    const before = await databases()
    const { outputs, summary } = await verify({
      backup: dumps.plainGz,
      'dry-run': 'true',
      'expect-tables': 'orders, customers'
    })
    expect(await databases()).toBe(before)
    expect(outputs).toEqual({ passed: 'dry-run', 'backup-age-seconds': '' })
    const text = summary.join('')
    expect(text).toMatch(
      new RegExp(
        `gunzip -c ${dumps.plainGz} \\| PGDATABASE=backup_verify_\\w+ psql -X -q -w -v ON_ERROR_STOP=1 -c '\\\\restrict <random key>' -f -`
      )
    )
    expect(text).toContain('| expected tables | 2 (from expect-tables) |')
  })

  it('a backup already past max-age fails the dry run (exit 1) without restoring', async () => {
    const before = await databases()
    const { error, fake } = await verifyFails({
      backup: dumps.plain,
      'dry-run': 'true',
      'max-age': '26h',
      'created-at': '2020-01-01T00:00:00Z'
    })
    expect(await databases()).toBe(before)
    expect(error).toBeInstanceOf(GateError)
    expect(error.message).toContain(
      '(dry run, nothing restored): backup made 2020-01-01T00:00:00.000Z is older than max-age 26h00m'
    )
    expect(fake.outputs.passed).toBe('false')
    expect(Number(fake.outputs['backup-age-seconds'])).toBeGreaterThan(150_000_000)
    expect(fake.summary.join('')).toContain('would fail verification')
  })

  it('a TOC with no table data fails the dry run as a real run would', async () => {
    const file = lab.path('dumps', 'empty-dry.sql')
    writeFileSync(file, '-- nothing here\nSET a = 1;\n-- PostgreSQL database dump complete\n')
    const { error } = await verifyFails({ backup: file, 'dry-run': 'true' })
    expect(error).toBeInstanceOf(GateError)
    expect(error.message).toContain('could not verify: the backup lists no table data')
  })

  it('still checks the server: unreachable is exit 3, no output', async () => {
    const port = await freePort()
    const fake = fakeIO({
      backup: dumps.custom,
      'dry-run': 'true',
      'database-url': `postgresql://postgres:secretpw@127.0.0.1:${port}/postgres`
    })
    await expect(run(fake.io)).rejects.toThrow(ToolError)
    expect(fake.outputs).toEqual({})
  })

  it('validates dry-run itself like every input', async () => {
    const { error } = await verifyFails({ backup: dumps.custom, 'dry-run': 'yes' })
    expect(error).toBeInstanceOf(ConfigurationError)
    expect(error.message).toBe('input `dry-run` = `yes`: expected `true` or `false`')
  })
})
