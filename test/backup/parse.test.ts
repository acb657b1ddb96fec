/** Pure parts of backup-verify: input languages, TOC listings, tool error output, judges. */
import { missingOwnerErrors } from '../../src/backup/owners.js'
import { formatPhases } from '../../src/actions/backup-verify/main.js'
import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import {
  judgeBackupAge,
  judgeRestore,
  judgeRestoreErrors,
  judgeAmcheck,
  judgeSqlCheck,
  type CreatedAt
} from '../../src/backup/checks.js'
import { parseTimeZone, wallTimeToInstant, wallTimeWindow } from '../../src/backup/wall-time.js'
import { parseDatabaseUrl } from '../../src/backup/connection.js'
import { formatFromHead } from '../../src/backup/format.js'
import {
  parsePgRestoreErrors,
  parsePsqlErrors,
  type RestoreOutcome
} from '../../src/backup/restore.js'
import {
  formatTableName,
  isChecksFile,
  parseCreatedAt,
  parseErrorPatterns,
  parseJobs,
  parseMinRows,
  parseSqlChecks,
  parseTableName
} from '../../src/backup/spec.js'
import { parseTocListing, readPlainLine, tablesWithData, type Toc } from '../../src/backup/toc.js'
import { ConfigurationError } from '../../src/core/errors.js'
import { parseDurationMs } from '../../src/core/duration.js'
import { refuseServiceEnv } from '../../src/actions/backup-verify/inputs.js'
import { judgeIntegrity, parseSha256Sidecar } from '../../src/backup/integrity.js'
import { judgeManifest, parseManifest } from '../../src/backup/manifest.js'
import { staleNames } from '../../src/backup/cleanup.js'

const sample = (name: string): string =>
  readFileSync(new URL(`samples/${name}`, import.meta.url), 'utf8')

describe('table names', () => {
  it.each([
    ['orders', 'public', 'orders'],
    ['public.Orders', 'public', 'orders'],
    ['"Sales Dept"."Big Orders"', 'Sales Dept', 'Big Orders'],
    ['app."a""b"', 'app', 'a"b']
  ])('%s', (raw, schema, name) => {
    expect(parseTableName('expect-tables', raw)).toEqual({ schema, name })
  })

  it.each(['a.b.c', '', 'bad name'])('rejects %p', (raw) => {
    expect(() => parseTableName('expect-tables', raw)).toThrow(ConfigurationError)
  })

  it('formats names for people, quoting only when needed', () => {
    expect(formatTableName({ schema: 'public', name: 'orders' })).toBe('public.orders')
    expect(formatTableName({ schema: 'Sales Dept', name: 'Big Orders' })).toBe(
      '"Sales Dept"."Big Orders"'
    )
  })
})

describe('min-rows', () => {
  it('reads table>=count lines', () => {
    expect(parseMinRows('min-rows', ['public.orders>=1000', 'customers >= 0'])).toEqual([
      { table: { schema: 'public', name: 'orders' }, min: 1000 },
      { table: { schema: 'public', name: 'customers' }, min: 0 }
    ])
  })

  it.each([
    'orders>1',
    'orders>=',
    '>=5',
    'orders>=-1',
    'orders>=1e3',
    'orders>=99999999999999999999'
  ])('rejects %p naming the input and the line', (line) => {
    expect(() => parseMinRows('min-rows', [line])).toThrow(
      /^input `min-rows` line `.*`: expected `table>=count`/
    )
  })
})

describe('SQL checks', () => {
  it('reads name: SQL lines with continuations and drops a trailing semicolon', () => {
    const text =
      "# comment\nrecent: SELECT max(at) > now() - interval '1 day'\n  FROM orders;\nok: SELECT true"
    expect(parseSqlChecks('checks', text)).toEqual([
      { name: 'recent', sql: "SELECT max(at) > now() - interval '1 day'\nFROM orders" },
      { name: 'ok', sql: 'SELECT true' }
    ])
  })

  it.each(['SELECT true', 'name:', ': SELECT 1', 'a: SELECT 1\na: SELECT 2'])(
    'rejects %p',
    (text) => {
      expect(() => parseSqlChecks('checks', text)).toThrow(ConfigurationError)
    }
  )

  it.each([
    ['checks/backup.txt', true],
    ['ok: SELECT true', false],
    ['', false],
    ['a.txt\nb.txt', false]
  ])('%p is a file: %p', (raw, file) => {
    expect(isChecksFile(raw)).toBe(file)
  })
})

describe('allow-errors, created-at, jobs', () => {
  it('matches substrings and /regex/', () => {
    const [plain, regex] = parseErrorPatterns('allow-errors', [
      'must be owner of extension',
      '/role "\\w+" does not exist/i'
    ])
    expect(plain.matches('ERROR:  must be owner of extension plpgsql')).toBe(true)
    expect(plain.matches('must be OWNER')).toBe(false)
    expect(regex.matches('ERROR: ROLE "ghost" does not exist')).toBe(true)
    expect(() => parseErrorPatterns('allow-errors', ['/(/'])).toThrow(/invalid regular expression/)
  })

  it('created-at needs a zone', () => {
    expect(parseCreatedAt('created-at', '2024-05-01T03:00:00Z').toISOString()).toBe(
      '2024-05-01T03:00:00.000Z'
    )
    expect(parseCreatedAt('created-at', '2024-05-01 05:00:00+02:00').toISOString()).toBe(
      '2024-05-01T03:00:00.000Z'
    )
    expect(() => parseCreatedAt('created-at', '2024-05-01T03:00:00')).toThrow(/with a zone/)
    expect(() => parseCreatedAt('created-at', 'yesterday')).toThrow(ConfigurationError)
  })

  it.each([
    ['', 4],
    ['auto', 4],
    ['1', 1],
    ['16', 16]
  ])('jobs %p -> %p', (raw, jobs) => {
    expect(parseJobs('jobs', raw, 4)).toBe(jobs)
  })

  it.each(['0', '65', 'two', '1.5'])('rejects jobs %p', (raw) => {
    expect(() => parseJobs('jobs', raw, 4)).toThrow(
      /input `jobs` = `.*`: expected `auto` or a whole number/
    )
  })
})

describe('database-url', () => {
  it('becomes libpq environment variables', () => {
    const conn = parseDatabaseUrl(
      'database-url',
      'postgresql://admin:p%40ss@db.internal:6543/maint?sslmode=require'
    )
    expect(conn.env).toEqual({
      PGHOST: 'db.internal',
      PGPORT: '6543',
      PGUSER: 'admin',
      PGPASSWORD: 'p@ss',
      PGSSLMODE: 'require',
      PGCONNECT_TIMEOUT: '10'
    })
    expect(conn.adminDatabase).toBe('maint')
    expect(conn.display).toBe('admin@db.internal:6543')
  })

  it('defaults to the postgres database', () => {
    expect(parseDatabaseUrl('database-url', 'postgres://u@127.0.0.1').adminDatabase).toBe(
      'postgres'
    )
  })

  it.each([
    'not a url',
    'mysql://u:topsecret@h/db',
    'postgresql://u@h/db?password=topsecret',
    'postgresql://u:topsecret@h/db?bogus=1'
  ])('rejects %p without showing it', (raw) => {
    let message = ''
    try {
      parseDatabaseUrl('database-url', raw)
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toMatch(/^input `database-url`: /)
    expect(message).not.toContain('topsecret')
  })
})

describe('TOC listing', () => {
  const toc = parseTocListing(sample('shop.list'))

  it('reads the header', () => {
    expect(toc.createdWall).toBe('2026-11-28 22:59:49')
    expect(toc.dbname).toBe('shop')
    expect(toc.dumpedFrom).toMatch(/^15\.\d+/)
    expect(toc.dumpedBy).toMatch(/^15\.\d+/)
  })

  it('lists tables with data, schemas with spaces included', () => {
    expect(tablesWithData(toc)).toEqual([
      { schema: 'Sales Dept', name: 'Big Orders' },
      { schema: 'public', name: 'customers' },
      { schema: 'public', name: 'empty_audit' },
      { schema: 'public', name: 'orders' }
    ])
    expect(toc.entries).toContainEqual({
      desc: 'FK CONSTRAINT',
      schema: 'public',
      name: 'orders orders_customer_id_fkey'
    })
    expect(toc.entries).toContainEqual({
      desc: 'SEQUENCE SET',
      schema: 'public',
      name: 'empty_audit_id_seq'
    })
  })

  it('reads the same from a plain SQL script', () => {
    const plain: Toc = { entries: [] }
    const lines = [
      '-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)',
      '-- Name: Big Orders; Type: TABLE; Schema: Sales Dept; Owner: postgres',
      '-- Data for Name: Big Orders; Type: TABLE DATA; Schema: Sales Dept; Owner: postgres',
      '-- Data for Name: orders; Type: TABLE DATA; Schema: public; Owner: postgres',
      "INSERT INTO t VALUES ('-- Data for Name: fake; Type: TABLE DATA; Schema: x; Owner: y');"
    ]
    for (const line of lines) readPlainLine(plain, line)
    expect(tablesWithData(plain)).toEqual([
      { schema: 'Sales Dept', name: 'Big Orders' },
      { schema: 'public', name: 'orders' }
    ])
    expect(plain.dumpedFrom).toBe('15.18 (Debian 15.18-0+deb12u1)')
  })
})

describe('restore errors', () => {
  it('pg_restore: SQL error with the statement', () => {
    expect(parsePgRestoreErrors(sample('missing-role.stderr'))).toEqual([
      {
        message: 'could not execute query: ERROR:  role "ghost" does not exist',
        command: 'ALTER TABLE public.haunted OWNER TO ghost;',
        sqlError: true
      }
    ])
  })

  it('pg_restore: a truncated archive is fatal', () => {
    const errors = parsePgRestoreErrors(sample('truncated.stderr'))
    expect(errors.map((e) => e.message)).toEqual([
      'could not read from input file: end of file',
      'a worker process died unexpectedly'
    ])
    expect(errors.every((e) => !e.sqlError)).toBe(true)
  })

  it('psql: every ERROR line with its script line', () => {
    expect(parsePsqlErrors(sample('psql-errors.stderr')).map((e) => e.message)).toEqual([
      'ERROR: role "ghost" does not exist (script line 2)',
      'ERROR: relation "nope" does not exist (script line 3)',
      'ERROR: division by zero (script line 4)'
    ])
  })

  const outcome = (errors: RestoreOutcome['errors'], timedOut = false): RestoreOutcome => ({
    command: 'pg_restore',
    exitCode: errors.length ? 1 : 0,
    timedOut,
    aborted: false,
    durationMs: 1000,
    errors,
    jobs: 2
  })

  it('allows only SQL errors that match a pattern', () => {
    const errors = [
      ...parsePgRestoreErrors(sample('missing-role.stderr')),
      ...parsePgRestoreErrors(sample('truncated.stderr'))
    ]
    const judged = judgeRestoreErrors(
      errors,
      parseErrorPatterns('allow-errors', ['/does not exist|end of file/'])
    )
    expect(judged.map((e) => e.allowed)).toEqual([true, false, false])
    const check = judgeRestore(outcome(errors), judged)
    expect(check.passed).toBe(false)
    expect(check.measured).toBe('3 error(s), 1 allowed')
  })

  it('a clean restore that was stopped at the time budget does not pass', () => {
    expect(judgeRestore(outcome([], true), []).passed).toBe(false)
    expect(judgeRestore(outcome([]), []).passed).toBe(true)
  })
})

describe('judges', () => {
  it('backup age: unknown creation time is never a pass', () => {
    const now = new Date('2024-05-02T00:00:00Z')
    expect(judgeBackupAge(undefined, now, 3_600_000)?.passed).toBe(false)
    expect(judgeBackupAge({ at: new Date('2024-05-01T23:30:00Z') }, now, 3_600_000)?.passed).toBe(
      true
    )
    expect(judgeBackupAge({ at: new Date('2024-05-01T22:30:00Z') }, now, 3_600_000)?.passed).toBe(
      false
    )
    expect(judgeBackupAge(undefined, now, undefined)).toBeUndefined()
  })

  const now = new Date('2024-05-02T00:00:00Z')
  const wall = (w: string): CreatedAt => ({ wall: w, ...wallTimeWindow(w) })
  it.each([
    // Tokyo dump made 10 min ago: its wall time is 9 h ahead; only the zone tells its age.
    [
      'Tokyo, zone given',
      { at: wallTimeToInstant('2024-05-02 08:50:00', { iana: 'Asia/Tokyo' }) },
      '1h',
      true,
      '10m'
    ],
    ['Tokyo, no zone', wall('2024-05-02 08:50:00'), '1h', false, 'give `dump-timezone`'],
    [
      'Los Angeles, zone given',
      { at: wallTimeToInstant('2024-05-01 16:50:00', { iana: 'America/Los_Angeles' }) },
      '1h',
      true,
      '10m'
    ],
    [
      'no zone, old for any zone',
      wall('2024-04-20 00:00:00'),
      '26h',
      false,
      'is older than max-age'
    ],
    ['no zone, fresh for any zone', wall('2024-05-01 22:00:00'), '26h', true, ''],
    ['in the future', { at: new Date('2024-05-02T00:10:00Z') }, '1h', false, 'is in the future'],
    [
      'in the future, no max-age',
      { at: new Date('2024-05-02T03:00:00Z') },
      '',
      false,
      'is in the future'
    ],
    ['within the clock skew', { at: new Date('2024-05-02T00:02:00Z') }, '1h', true, ''],
    [
      'no zone, in the future for any zone',
      wall('2024-05-02 20:00:00'),
      '1h',
      false,
      'is in the future'
    ]
  ] as [string, CreatedAt, string, boolean, string][])(
    'backup age: %s',
    (_, created, max, passed, text) => {
      const maxMs = max ? parseDurationMs(max) : undefined
      const check = judgeBackupAge(created, now, maxMs)
      expect(check?.passed).toBe(passed)
      if (text) expect(`${check?.measured} ${check?.detail}`).toContain(text)
    }
  )

  it.each([
    ['UTC', { offsetMinutes: 0 }],
    ['+09:00', { offsetMinutes: 540 }],
    ['-0530', { offsetMinutes: -330 }],
    ['Europe/Berlin', { iana: 'Europe/Berlin' }]
  ])('dump-timezone %s', (raw, zone) => {
    expect(parseTimeZone('dump-timezone', raw)).toEqual(zone)
  })

  it.each(['Mars/Olympus', '+15:00', 'JST; DROP', ''])('dump-timezone %p is refused', (raw) => {
    expect(() => parseTimeZone('dump-timezone', raw)).toThrow(/input `dump-timezone`/)
  })

  it('a DST wall time resolves with the zone of that date', () => {
    expect(wallTimeToInstant('2024-07-01 12:00:00', { iana: 'Europe/Berlin' }).toISOString()).toBe(
      '2024-07-01T10:00:00.000Z'
    )
    expect(wallTimeToInstant('2024-01-01 12:00:00', { iana: 'Europe/Berlin' }).toISOString()).toBe(
      '2024-01-01T11:00:00.000Z'
    )
  })

  it.each([
    [[[true]], 1, true],
    [[[false]], 1, false],
    [[[null]], 1, false],
    [[['true']], 1, false],
    [[], 1, false],
    [[[true], [true]], 1, false],
    [[[true, true]], 2, false],
    [[[1]], 1, false]
  ])('sql check %j (%i columns) -> %p', (rows, columns, passed) => {
    const result = { ok: true as const, rows, columns }
    expect(judgeSqlCheck({ name: 'c', sql: 'SELECT' }, result).passed).toBe(passed)
  })
})

describe('format from the first bytes', () => {
  const tarHead = Buffer.alloc(512)
  tarHead.write('ustar', 257, 'latin1')
  it.each([
    ['custom', Buffer.from('PGDMP\x01\x0e\x00'), { format: 'custom', gzip: false }],
    ['tar', tarHead, { format: 'tar', gzip: false }],
    ['plain', Buffer.from('--\n-- PostgreSQL database dump\n'), { format: 'plain', gzip: false }],
    ['plain gzip', gzipSync('--\n-- PostgreSQL database dump\n'), { format: 'plain', gzip: true }],
    ['gzip of a custom archive', gzipSync(Buffer.from('PGDMP\x01\x0e\x00')), undefined],
    ['binary', Buffer.from([0x00, 0x01, 0xff]), undefined],
    ['empty', Buffer.alloc(0), undefined]
  ])('%s', (_name, head, expected) => {
    expect(formatFromHead(head)).toEqual(expected)
  })
})

describe('stale scratch objects', () => {
  const now = new Date('2024-05-02T12:00:00Z')
  it.each([
    ['backup_verify_20240501115959_deadbeef', true],
    ['backup_verify_20240501120001_deadbeef', false],
    ['backup_verify_reader_20240420000000_00ff00ff', true],
    ['backup_verify_keep_me', false],
    ['backup_verify_20240101000000_x; DROP', false],
    ['prod', false]
  ])('%s stale: %p', (name, stale) => {
    expect(staleNames([name], now)).toEqual(stale ? [name] : [])
  })
})

describe('integrity inputs', () => {
  const a = 'a'.repeat(64)
  const b = 'b'.repeat(64)
  it.each([
    ['sha256sum output', `${a}  /backups/shop.dump\n`, 'shop.dump', [['shop.dump', a]]],
    ['binary mode', `${a} *shop.dump\n`, 'shop.dump', [['shop.dump', a]]],
    ['a bare digest', a.toUpperCase(), 'shop.dump', [['shop.dump', a]]],
    [
      'a directory',
      `${a}  dir/toc.dat\n${b}  dir/3001.dat\n`,
      undefined,
      [
        ['toc.dat', a],
        ['3001.dat', b]
      ]
    ]
  ])('%s', (_, text, single, expected) => {
    expect([...parseSha256Sidecar('sha256', text, single)]).toEqual(expected)
  })

  it.each(['', 'not a digest', `${a.slice(1)}  x`])('refuses %p', (text) => {
    expect(() => parseSha256Sidecar('sha256', text, 'x')).toThrow(/input `sha256`/)
  })

  it.each([
    ['all match', [['x', a]], [['x', a]], true],
    ['changed', [['x', a]], [['x', b]], false],
    [
      'missing file',
      [
        ['x', a],
        ['y', b]
      ],
      [['x', a]],
      false
    ],
    [
      'extra file in the directory',
      [['x', a]],
      [
        ['x', a],
        ['y', b]
      ],
      false
    ]
  ] as [string, [string, string][], [string, string][], boolean][])(
    'judge: %s',
    (_, expected, actual, passed) => {
      expect(judgeIntegrity('manifest', new Map(expected), new Map(actual)).passed).toBe(passed)
    }
  )
})

describe('manifest', () => {
  const good = {
    format: 'ops-actions/backup-manifest/1',
    createdAt: '2024-05-01T03:00:00.000Z',
    database: 'shop',
    serverVersion: '15.18',
    tables: [{ schema: 'public', name: 'orders', rows: 5 }],
    largeObjects: 0,
    files: { 'shop.dump': 'c'.repeat(64) }
  }
  it('reads a good one', () => {
    expect(parseManifest('manifest', JSON.stringify(good))).toEqual(good)
  })
  it.each([
    ['not JSON', '{'],
    ['wrong format', JSON.stringify({ ...good, format: 'x' })],
    [
      'negative rows',
      JSON.stringify({ ...good, tables: [{ schema: 'public', name: 'o', rows: -1 }] })
    ],
    ['file with a path', JSON.stringify({ ...good, files: { '../x': 'c'.repeat(64) } })],
    ['bad time', JSON.stringify({ ...good, createdAt: 'yesterday' })]
  ])('refuses %s', (_, text) => {
    expect(() => parseManifest('manifest', text)).toThrow(/input `manifest`: not a backup manifest/)
  })
  it.each([
    [[{ schema: 'public', name: 'orders', rows: 5 }], 0, [true, true]],
    [[{ schema: 'public', name: 'orders', rows: 4 }], 0, [false, true]],
    [[], 0, [false, true]],
    [[{ schema: 'public', name: 'orders', rows: 5 }], 1, [true, false]]
  ])('judge %j, %i large objects', (restored, lo, passed) => {
    const manifest = parseManifest('manifest', JSON.stringify(good))
    expect(judgeManifest(manifest, restored, lo).map((c) => c.passed)).toEqual(passed)
  })
})

describe('pg_amcheck outcome', () => {
  it.each([
    [0, '', true, 'exit 0, 0 line(s) of findings'],
    [
      2,
      'heap table "public.t", block 0, offset 1:\n    xmin 1 precedes relation freeze threshold',
      false,
      'exit 2, 2 line(s) of findings'
    ],
    [
      1,
      'pg_amcheck: error: query failed: ERROR:  permission denied for function bt_index_check\nDETAIL: x\nCONTEXT: y',
      false,
      'could not run (exit 1)'
    ],
    [
      1,
      'could not install the amcheck extension: SQL in database x failed: ERROR: permission denied to create extension "amcheck"',
      false,
      'could not run (exit 1)'
    ]
  ])('exit %i', (code, output, passed, measured) => {
    const check = judgeAmcheck(code, output)
    expect(check.passed).toBe(passed)
    expect(check.measured).toBe(measured)
  })
})

describe('PGSERVICE in the environment', () => {
  it.each([
    [{}, false],
    [{ PGSERVICE: 'prod' }, true],
    [{ PGSERVICEFILE: '/etc/pg_service.conf' }, true],
    [{ PGSERVICE: '' }, false]
  ])('%j refused: %p', (env, refused) => {
    const call = (): void => refuseServiceEnv(env)
    if (refused) expect(call).toThrow(/unset PGSERVICE|unset PGSERVICEFILE/)
    else expect(call).not.toThrow()
  })
})

describe('formatPhases: the RTO by phase in the log', () => {
  it.each([
    [{}, ''],
    [{ toc: 30, restore: 1250 }, 'toc=0.03 restore=1.25'],
    [{ setup: 5, cleanup: 110_000 }, 'setup=0.01 cleanup=110.00']
  ])('%j -> %s', (phases, line) => {
    expect(formatPhases(phases)).toBe(line)
  })
})

describe('missingOwnerErrors: owner roles the scratch server lacks are restore errors', () => {
  const owners = new Map([
    ['postgres', { line: 3, statement: 'ALTER TABLE public.a OWNER TO postgres;' }],
    ['ghost', { line: 9, statement: 'ALTER TABLE public.haunted OWNER TO ghost;' }]
  ])
  it.each([
    [['postgres', 'ghost'], []],
    [['postgres'], ['ghost']],
    [[], ['postgres', 'ghost']]
  ])('existing %j: missing %j', (existing, missing) => {
    const errors = missingOwnerErrors(owners, new Set(existing))
    expect(errors.map((e) => e.message)).toEqual(
      missing.map((r) => `role "${r}" does not exist (the backup makes it an owner)`)
    )
  })

  it('names the statement, as an SQL error allow-errors can accept', () => {
    expect(missingOwnerErrors(owners, new Set(['postgres']))).toEqual([
      {
        message: 'role "ghost" does not exist (the backup makes it an owner)',
        command: 'ALTER TABLE public.haunted OWNER TO ghost;',
        sqlError: true
      }
    ])
  })
})
