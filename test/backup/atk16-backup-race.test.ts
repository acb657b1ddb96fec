/** atk16: two `mode: backup` runs to one path never both write the dump (real PostgreSQL). */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { Lab } from '../../lab/lab.js'
import { startPostgres, type Postgres } from '../../lab/services/postgres.js'
import { run } from '../../src/actions/backup-verify/main.js'
import { sha256File } from '../../src/backup/integrity.js'
import type { Manifest } from '../../src/backup/manifest.js'
import { fakeIO } from './fixtures.js'

let lab: Lab
let pg: Postgres
let sourceUrl: string

beforeAll(async () => {
  lab = Lab.create('backup-atk16-race-')
  pg = await startPostgres(lab)
  await pg.psql('CREATE DATABASE big')
  await pg.psql(
    'CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 300000) g',
    'big'
  )
  sourceUrl = pg.url.replace(/\/postgres$/, '/big')
})

afterAll(async () => {
  await lab?.stop()
})

async function backup(path: string): Promise<string> {
  const fake = fakeIO({
    mode: 'backup',
    'source-url': sourceUrl,
    backup: path,
    'dump-compression': '0'
  })
  return run(fake.io).then(
    () => 'ok',
    (e: Error) => `failed: ${e.message}`
  )
}

describe('mode backup reserves its path before pg_dump runs', () => {
  it('of four concurrent runs three are refused before dumping; the other manifest matches the file', async () => {
    const path = lab.path('race.dump')
    const results = await Promise.all([backup(path), backup(path), backup(path), backup(path)])
    const manifest = JSON.parse(readFileSync(`${path}.manifest.json`, 'utf8')) as Manifest
    const digest = Object.values(manifest.files)[0]
    expect({ results, matches: digest === (await sha256File(path)) }).toMatchObject({
      matches: true
    })
    expect(results.filter((r) => r === 'ok')).toHaveLength(1)
    for (const r of results.filter((r) => r !== 'ok'))
      expect(r).toMatch(/already exists; mode backup writes a new dump/)
  })
})
