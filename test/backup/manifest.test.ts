/**
 * mode backup (pg_dump + manifest from one snapshot) and verification against the manifest and
 * a sha256 sidecar, on a real PostgreSQL: short or altered data that pg_restore reads without a
 * word never passes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Lab } from '../../lab/lab.js'
import { startPostgres, type Postgres } from '../../lab/services/postgres.js'
import { run } from '../../src/actions/backup-verify/main.js'
import { sha256File } from '../../src/backup/integrity.js'
import {
  canonicalJson,
  parseManifest,
  signManifest,
  type Manifest
} from '../../src/backup/manifest.js'
import { GateError } from '../../src/core/errors.js'
import {
  createShop,
  fakeIO,
  pgDump,
  scratchDatabases,
  SHOP_TABLES,
  type FakeRun
} from './fixtures.js'

const execFileAsync = promisify(execFile)

let lab: Lab
let pg: Postgres
let sourceUrl: string

beforeAll(async () => {
  lab = Lab.create('backup-manifest-')
  pg = await startPostgres(lab)
  await createShop(pg, 'shop')
  await pg.psql(`SELECT lo_from_bytea(0, 'one'), lo_from_bytea(0, 'two')`, 'shop')
  sourceUrl = pg.url.replace(/\/postgres$/, '/shop')
})

afterAll(async () => {
  await lab?.stop()
})

afterEach(async () => {
  expect(await scratchDatabases(pg)).toEqual([])
})

async function action(inputs: Record<string, string>): Promise<{ error?: Error; fake: FakeRun }> {
  const fake = fakeIO(inputs)
  const error = await run(fake.io).then(
    () => undefined,
    (e: Error) => e
  )
  return { error, fake }
}

async function backup(
  path: string,
  format = 'custom',
  compression = '',
  key = ''
): Promise<Manifest> {
  const { error, fake } = await action({
    mode: 'backup',
    'source-url': sourceUrl,
    backup: path,
    format,
    'dump-compression': compression,
    'manifest-key': key
  })
  expect(error).toBeUndefined()
  const manifest = JSON.parse(readFileSync(fake.outputs['manifest-file'], 'utf8')) as Manifest
  // the summary names what was dumped, its snapshot time and where the manifest is
  const summary = fake.summary.join('\n')
  for (const fact of ['Backup made', path, manifest.createdAt, fake.outputs['manifest-file']])
    expect(summary).toContain(fact)
  return manifest
}

describe('mode backup', () => {
  it('writes the dump and a manifest of the same snapshot: exact rows, large objects, digests', async () => {
    const path = lab.path('shop.dump')
    const manifest = await backup(path)
    const rows = Object.fromEntries(
      manifest.tables.map((t) => [t.schema === 'public' ? t.name : `${t.schema}.${t.name}`, t.rows])
    )
    expect(rows).toEqual(SHOP_TABLES)
    expect(manifest.largeObjects).toBe(2)
    expect(manifest.files).toEqual({ 'shop.dump': await sha256File(path) })
    expect(Math.abs(Date.parse(manifest.createdAt) - Date.now())).toBeLessThan(120_000)

    const { error, fake } = await action({
      'database-url': pg.url,
      backup: path,
      manifest: `${path}.manifest.json`,
      'max-age': '1h'
    })
    expect(error).toBeUndefined()
    expect(Number(fake.outputs['backup-age-seconds'])).toBeLessThan(120)
    const report = JSON.parse(readFileSync(fake.outputs['report-file'], 'utf8'))
    expect(report.checks).toContainEqual(
      expect.objectContaining({ name: 'large objects (manifest)', passed: true, measured: 2 })
    )
  })

  it('refuses to overwrite an existing backup', async () => {
    const path = lab.path('exists.dump')
    writeFileSync(path, 'x')
    const { error } = await action({ mode: 'backup', 'source-url': sourceUrl, backup: path })
    expect(error).toBeDefined()
    expect(readFileSync(path, 'utf8')).toBe('x')
  })
})

describe('short or altered data that pg_restore reads without a word', () => {
  it('-Fd -Z0 with a data file cut at a line boundary: digest mismatch, nothing restored', async () => {
    const dir = lab.path('cut.dir')
    await backup(dir, 'directory', '0')
    const biggest = readdirSync(dir)
      .filter((f) => f.endsWith('.dat') && f !== 'toc.dat')
      .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0]
    const file = join(dir, biggest)
    const lines = readFileSync(file, 'utf8').split('\n')
    writeFileSync(file, `${lines.slice(0, 100).join('\n')}\n\\.\n\n`)
    const { error } = await action({
      'database-url': pg.url,
      backup: dir,
      manifest: `${dir}.manifest.json`
    })
    expect(error?.message).toContain(`backup bytes differ from the manifest: ${biggest} has sha256`)

    // Even when the digests were made after the cut, the exact row counts of the snapshot catch it.
    const manifest = JSON.parse(readFileSync(`${dir}.manifest.json`, 'utf8')) as Manifest
    manifest.files[biggest] = await sha256File(file)
    const redigested = lab.path('cut-redigested.manifest.json')
    writeFileSync(redigested, JSON.stringify(manifest))
    const second = await action({ 'database-url': pg.url, backup: dir, manifest: redigested })
    expect(second.error?.message).toMatch(
      /restored data differs from the manifest: public\.orders has 100 rows, 5000 at dump time/
    )
  })

  it('-Z0 custom archive with one digit changed fails the sha256 sidecar', async () => {
    const path = lab.path('digit.dump')
    await pgDump(pg, 'shop', ['-Fc', '-Z0', '-f', path])
    const sidecar = `${path}.sha256`
    const { stdout } = await execFileAsync('sha256sum', [path])
    writeFileSync(sidecar, stdout)
    const bytes = readFileSync(path)
    // -Z0 stores each COPY row as its own block: the row starts right after its length.
    const at = bytes.indexOf(Buffer.from('4999\t'))
    expect(at).toBeGreaterThan(0)
    bytes[at] = '5'.charCodeAt(0) // 4999 -> 5999: a valid archive with a wrong value
    writeFileSync(path, bytes)
    const unchecked = await action({ 'database-url': pg.url, backup: path })
    expect(unchecked.error).toBeUndefined() // what pg_restore alone says
    const { error, fake } = await action({ 'database-url': pg.url, backup: path, sha256: sidecar })
    expect(error?.message).toContain(
      'backup bytes differ from the sha256 sidecar: digit.dump has sha256'
    )
    expect(fake.outputs['restore-seconds']).toBe('')
  })

  it('a table dumped without its data (--exclude-table-data) fails against the source counts', async () => {
    const path = lab.path('nodata.dump')
    const manifest = await backup(lab.path('full.dump'))
    await pgDump(pg, 'shop', ['-Fc', '--exclude-table-data=public.orders', '-f', path])
    manifest.files = { 'nodata.dump': await sha256File(path) }
    const file = lab.path('nodata.manifest.json')
    writeFileSync(file, JSON.stringify(manifest))
    const { error } = await action({ 'database-url': pg.url, backup: path, manifest: file })
    expect(error?.message).toMatch(/public\.orders (has 0 rows|is missing)/)
  })
})

describe('dumps compressed outside pg_dump', () => {
  it.each([
    ['gzip', ['gzip', '-k'], '.gz'],
    ['zstd', ['zstd', '-q'], '.zst'],
    ['lz4', ['lz4', '-q', '-m'], '.lz4']
  ])(
    'a custom archive compressed with %s restores and matches its manifest',
    async (_, argv, ext) => {
      const path = lab.path(`c-${ext.slice(1)}.dump`)
      const manifest = await backup(path)
      await execFileAsync(argv[0], [...argv.slice(1), path])
      const compressed = `${path}${ext}`
      const { stdout } = await execFileAsync('sha256sum', [compressed])
      writeFileSync(`${compressed}.sha256`, stdout)
      const file = lab.path(`c-${ext.slice(1)}.manifest.json`)
      writeFileSync(file, JSON.stringify({ ...manifest, files: {} }))
      const { error } = await action({
        'database-url': pg.url,
        backup: compressed,
        sha256: `${compressed}.sha256`,
        manifest: file
      })
      expect(error?.message).toMatch(/is not in the manifest/) // the manifest names the uncompressed dump
      writeFileSync(
        file,
        JSON.stringify({
          ...manifest,
          files: { [`c-${ext.slice(1)}.dump${ext}`]: stdout.slice(0, 64) }
        })
      )
      const second = await action({ 'database-url': pg.url, backup: compressed, manifest: file })
      expect(second.error).toBeUndefined()
      expect(second.fake.outputs.rows).toBe('5207')
    }
  )

  it('a plain script compressed with zstd restores', async () => {
    const path = lab.path('p.sql')
    await pgDump(pg, 'shop', ['-Fp', '-f', path])
    await execFileAsync('zstd', ['-q', path])
    const { error } = await action({ 'database-url': pg.url, backup: `${path}.zst` })
    expect(error).toBeUndefined()
  })
})

const KEY = 'k'.repeat(16) + '0123456789abcdef0123'

describe('manifest-key: an HMAC over the canonical JSON, checked before the manifest is trusted', () => {
  it.each([
    [{ b: 1, a: [2, { d: null, c: 'x' }] }, '{"a":[2,{"c":"x","d":null}],"b":1}'],
    [{ z: undefined, y: 'é"' }, '{"y":"é\\""}'],
    [[], '[]']
  ])('canonicalJson(%j)', (value, text) => {
    expect(canonicalJson(value)).toBe(text)
  })

  const base = {
    format: 'ops-actions/backup-manifest/1',
    createdAt: '2026-12-01T00:00:00.000Z',
    database: 'shop',
    serverVersion: '15',
    tables: [{ schema: 'public', name: 't', rows: 3 }],
    largeObjects: 0,
    files: { 'shop.dump': 'a'.repeat(64) }
  }
  const signed = { ...base, signature: signManifest(base, KEY) }

  it('a signed manifest reads back; key order and spacing do not matter', () => {
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(signed).reverse()), null, 4)
    expect(parseManifest('manifest', reordered, KEY).tables[0].rows).toBe(3)
  })

  it.each([
    [
      'a row count changed',
      { ...signed, tables: [{ schema: 'public', name: 't', rows: 4 }] },
      /does not match/
    ],
    ['the time moved', { ...signed, createdAt: '2026-12-02T00:00:00.000Z' }, /does not match/],
    ['a digest changed', { ...signed, files: { 'shop.dump': 'b'.repeat(64) } }, /does not match/],
    ['another key', { ...base, signature: signManifest(base, `${KEY}x`) }, /does not match/],
    ['no signature', base, /signature missing/],
    ['a signature of another form', { ...base, signature: 'sha1:00' }, /signature missing/]
  ])('%s: a failed check naming the signature', (_, manifest, message) => {
    const read = (): Manifest => parseManifest('manifest', JSON.stringify(manifest), KEY)
    expect(read).toThrow(GateError)
    expect(read).toThrow(message)
  })

  it('mode backup signs with the key; verify checks it; a tampered manifest fails before anything is created', async () => {
    const path = lab.path('signed.dump')
    const manifest = await backup(path, 'custom', '', KEY)
    expect(manifest.signature).toMatch(/^hmac-sha256:[0-9a-f]{64}$/)
    const manifestPath = `${path}.manifest.json`
    const ok = await action({
      'database-url': pg.url,
      backup: path,
      manifest: manifestPath,
      'manifest-key': KEY
    })
    expect(ok.error).toBeUndefined()
    expect(ok.fake.outputs.passed).toBe('true')

    // Someone with write access to the storage raises a count and moves the time forward.
    const forged = lab.path('forged.manifest.json')
    writeFileSync(
      forged,
      JSON.stringify({ ...manifest, createdAt: new Date().toISOString(), largeObjects: 9 })
    )
    const bad = await action({
      'database-url': pg.url,
      backup: path,
      manifest: forged,
      'manifest-key': KEY
    })
    expect(bad.error).toBeInstanceOf(GateError)
    expect(bad.error?.message).toMatch(/manifest signature does not match `manifest-key`/)
    expect(bad.fake.outputs.passed).toBeUndefined()
  })

  it('a short key is refused without being shown', async () => {
    const { error } = await action({
      'database-url': pg.url,
      backup: lab.path('signed.dump'),
      manifest: lab.path('signed.dump.manifest.json'),
      'manifest-key': 'short-secret'
    })
    expect(error?.message).toMatch(/input `manifest-key`: a key of at least 32 characters/)
    expect(error?.message).not.toContain('short-secret')
  })
})
