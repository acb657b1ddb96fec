/**
 * Contract tests: the real Trivy cannot download its DB here, so a fake `trivy` executable
 * (test/fixtures/scan/fake-trivy.mjs) answers as Trivy does. They prove the argv we build,
 * the DB cache/retry/fallback order and that a crash is never read as "clean".
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ToolError } from '../../src/core/errors.js'
import type { CacheStore } from '../../src/scan/db.js'
import { dbCacheKeys } from '../../src/scan/db.js'
import { scanWithTrivy, type ScanOptions } from '../../src/scan/scan.js'
import { buildScanArgs, type ScanType } from '../../src/scan/trivy.js'
import { FAKE_TRIVY, fixturePath } from './helpers.js'

const NOW = new Date('2026-09-01T08:00:00Z')
let dir: string
let events: string[]

function argvLog(): string[][] {
  const file = join(dir, 'argv.log')
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as string[])
    : []
}

/** The Actions cache as a folder: entries by key, restore by exact key or newest prefix match. */
function folderStore(root: string): CacheStore & { saved: string[] } {
  const saved: string[] = []
  return {
    saved,
    async restore(paths, key, restoreKeys) {
      const keys = existsSync(root)
        ? (await import('node:fs')).readdirSync(root).sort().reverse()
        : []
      const hit =
        keys.find((k) => k === key) ?? keys.find((k) => restoreKeys.some((p) => k.startsWith(p)))
      events.push(`restore ${hit ?? 'miss'}`)
      if (hit) cpSync(join(root, hit), paths[0], { recursive: true })
      return hit
    },
    async save(paths, key) {
      events.push(`save ${key} after ${argvLog().length} trivy calls`)
      cpSync(paths[0], join(root, key), { recursive: true })
      saved.push(key)
    }
  }
}

function options(overrides: Partial<ScanOptions> = {}): ScanOptions {
  return {
    scanType: 'image',
    target: 'ghcr.io/acme/api:1.2.3',
    scanners: ['vuln', 'secret'],
    trivyPath: FAKE_TRIVY,
    version: '0.72.0',
    toolCacheDir: join(dir, 'tools'),
    tempDir: join(dir, 'tmp'),
    cacheDir: join(dir, 'trivy-cache'),
    outputFile: join(dir, 'trivy-results.json'),
    now: NOW,
    dbRetryDelaysMs: [1, 1],
    ...overrides
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'scan-contract-'))
  events = []
  process.env.FAKE_TRIVY_LOG = join(dir, 'argv.log')
  process.env.FAKE_TRIVY_STATE = dir
  process.env.FAKE_TRIVY_REPORT = fixturePath('trivy-image-debian-buster-critical-and-unfixed.json')
})
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith('FAKE_TRIVY_')) delete process.env[k]
  rmSync(dir, { recursive: true, force: true })
})

describe('the argv we give Trivy', () => {
  it.each([
    [
      'image',
      ['vuln', 'secret'],
      [
        '--scanners',
        'vuln,secret',
        '--no-progress',
        '--secret-config',
        '/o.json.secret-config.yaml'
      ]
    ],
    [
      'fs',
      ['vuln', 'misconfig', 'secret', 'license'],
      [
        '--scanners',
        'vuln,misconfig,secret,license',
        '--no-progress',
        '--secret-config',
        '/o.json.secret-config.yaml'
      ]
    ],
    ['sbom', ['vuln'], ['--scanners', 'vuln', '--no-progress']],
    ['config', ['misconfig'], []]
  ] as [ScanType, never[], string[]][])('%s', (scanType, scanners, extra) => {
    expect(
      buildScanArgs('trivy', {
        scanType,
        target: '-weird target',
        scanners,
        cacheDir: '/c',
        outputFile: '/o.json',
        skipDbUpdate: false,
        timeoutMs: 90_000
      })
    ).toEqual([
      'trivy',
      scanType,
      '--format',
      'json',
      '--output',
      '/o.json',
      '--exit-code',
      '0',
      '--cache-dir',
      '/c',
      '--timeout',
      '90s',
      '--config',
      '/dev/null',
      '--ignorefile',
      '/dev/null',
      '--skip-version-check',
      ...extra,
      '--',
      '-weird target'
    ])
  })

  it('passes what a platform team sets: mirrors, skips, its trivy.yaml, an image tar, offline', () => {
    const argv = buildScanArgs('trivy', {
      scanType: 'image',
      input: '/w/image.tar',
      scanners: ['vuln'],
      cacheDir: '/c',
      outputFile: '/o.json',
      skipDbUpdate: true,
      offline: true,
      timeoutMs: 1_800_000,
      skipDirs: ['node_modules', 'a,b'],
      skipFiles: ['**/*.pem'],
      configFile: '/w/trivy.yaml',
      dbRepositories: ['registry.local/trivy-db', 'ghcr.io/aquasecurity/trivy-db'],
      javaDbRepositories: ['registry.local/trivy-java-db'],
      checksBundleRepository: 'registry.local/trivy-checks'
    })
    const after = (flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []))
    expect(after('--timeout')).toEqual(['1800s'])
    expect(after('--config')).toEqual(['/w/trivy.yaml'])
    expect(after('--ignorefile')).toEqual(['/dev/null'])
    expect(after('--skip-dirs')).toEqual(['node_modules', 'a,b'])
    expect(after('--skip-files')).toEqual(['**/*.pem'])
    expect(after('--db-repository')).toEqual([
      'registry.local/trivy-db',
      'ghcr.io/aquasecurity/trivy-db'
    ])
    expect(after('--java-db-repository')).toEqual(['registry.local/trivy-java-db'])
    expect(after('--checks-bundle-repository')).toEqual(['registry.local/trivy-checks'])
    for (const flag of [
      '--skip-db-update',
      '--skip-java-db-update',
      '--skip-check-update',
      '--offline-scan'
    ])
      expect(argv).toContain(flag)
    expect(argv.slice(-2)).toEqual(['--input', '/w/image.tar'])
    expect(argv).not.toContain('--')
  })
})

describe('scanWithTrivy with a fake trivy', () => {
  it('updates the DB, saves the cache before scanning, then scans once with every severity', async () => {
    const store = folderStore(join(dir, 'store'))
    const outcome = await scanWithTrivy(options({ store }))
    expect(outcome.trivyVersion).toBe('0.72.0')
    expect(outcome.report.Results?.[0].Vulnerabilities).toHaveLength(2)
    expect(outcome.db).toEqual({
      status: 'updated',
      restoredKey: undefined,
      savedKey: 'trivy-db-linux-2026-09-01'
    })
    const calls = argvLog()
    expect(calls.map((c) => c[0])).toEqual(['version', 'image', 'image'])
    expect(calls[1]).toContain('--download-db-only')
    // the empty secret config Trivy was given is not left beside the report
    expect(existsSync(`${join(dir, 'trivy-results.json')}.secret-config.yaml`)).toBe(false)
    expect(calls[2]).toEqual([
      'image',
      '--format',
      'json',
      '--output',
      join(dir, 'trivy-results.json'),
      '--exit-code',
      '0',
      '--cache-dir',
      join(dir, 'trivy-cache'),
      '--timeout',
      '1800s',
      '--config',
      '/dev/null',
      '--ignorefile',
      '/dev/null',
      '--skip-version-check',
      '--scanners',
      'vuln,secret',
      '--no-progress',
      '--secret-config',
      `${join(dir, 'trivy-results.json')}.secret-config.yaml`,
      '--skip-db-update',
      '--',
      'ghcr.io/acme/api:1.2.3'
    ])
    expect(calls[2]).not.toContain('--severity')
    expect(calls[2]).not.toContain('--ignore-unfixed')
    // saved after the DB download (2 calls) and before the scan: a failing gate still seeds the cache
    // then the Java DB is only looked for in the cache: Trivy fetches it itself if a jar needs it
    expect(events).toEqual([
      'restore miss',
      'save trivy-db-linux-2026-09-01 after 2 trivy calls',
      'restore miss'
    ])
  })

  it('restores the Java DB from the cache and does not download it', async () => {
    const store = folderStore(join(dir, 'store'))
    const key = dbCacheKeys(NOW, process.platform, 'trivy-java-db').key
    mkdirSync(join(dir, 'store', key), { recursive: true })
    writeFileSync(join(dir, 'store', key, 'trivy-java.db'), 'cached java db')
    process.env.FAKE_TRIVY_JAR = 'fetch'
    await scanWithTrivy(options({ store }))
    expect(events.filter((e) => e.includes('java'))).toEqual([`restore ${key}`])
    expect(argvLog().some((c) => c.includes('--download-java-db-only'))).toBe(false)
  })

  it('saves a Java DB that Trivy fetched during the scan', async () => {
    const store = folderStore(join(dir, 'store'))
    process.env.FAKE_TRIVY_JAR = 'fetch'
    await scanWithTrivy(options({ store }))
    expect(store.saved).toEqual(['trivy-db-linux-2026-09-01', 'trivy-java-db-linux-2026-09-01'])
    expect(
      readFileSync(join(dir, 'store', 'trivy-java-db-linux-2026-09-01', 'trivy-java.db'), 'utf8')
    ).toBe('fetched by the scan')
  })

  it("retries the Java DB on its own when Trivy's download fails mid-scan, then rescans", async () => {
    process.env.FAKE_TRIVY_JAR = 'fail'
    process.env.FAKE_TRIVY_JAVA_DB_FAILURES = '1'
    const outcome = await scanWithTrivy(options())
    expect(outcome.javaDb?.status).toBe('updated')
    const calls = argvLog()
    expect(calls.filter((c) => c.includes('--download-java-db-only'))).toHaveLength(2)
    expect(calls.at(-1)).toContain('--skip-java-db-update')
    expect(outcome.report.Results?.[0].Vulnerabilities).toHaveLength(2)
  })

  it('offline: no download at all, the DBs must be in the cache dir', async () => {
    await expect(scanWithTrivy(options({ offline: true }))).rejects.toThrow(
      /offline: no Trivy vulnerability DB in .*trivy-cache\/db/
    )
    mkdirSync(join(dir, 'trivy-cache', 'db'), { recursive: true })
    writeFileSync(join(dir, 'trivy-cache', 'db', 'trivy.db'), 'seeded')
    const outcome = await scanWithTrivy(options({ offline: true }))
    expect(outcome.db?.status).toBe('cached')
    expect(argvLog().some((c) => c.includes('--download-db-only'))).toBe(false)
    expect(argvLog().at(-1)).toEqual(
      expect.arrayContaining(['--skip-db-update', '--skip-java-db-update', '--offline-scan'])
    )
  })

  it('gives Trivy the timeout and itself a minute more', async () => {
    await scanWithTrivy(options({ timeoutMs: 120_000 }))
    const scan = argvLog().at(-1)!
    expect(scan[scan.indexOf('--timeout') + 1]).toBe('120s')
  })

  it("restores yesterday's DB by prefix and saves today's key", async () => {
    const store = folderStore(join(dir, 'store'))
    const yesterday = join(dir, 'store', 'trivy-db-linux-2026-08-31')
    mkdirSync(yesterday, { recursive: true })
    writeFileSync(join(yesterday, 'trivy.db'), 'old')
    const outcome = await scanWithTrivy(options({ store }))
    expect(outcome.db?.restoredKey).toBe('trivy-db-linux-2026-08-31')
    expect(store.saved).toEqual(['trivy-db-linux-2026-09-01'])
  })

  it("does not save again when today's entry was restored", async () => {
    const store = folderStore(join(dir, 'store'))
    mkdirSync(join(dir, 'store', dbCacheKeys(NOW).key), { recursive: true })
    writeFileSync(join(dir, 'store', dbCacheKeys(NOW).key, 'trivy.db'), 'today')
    await scanWithTrivy(options({ store }))
    expect(store.saved).toEqual([])
  })

  it('retries a rate-limited DB download and then succeeds', async () => {
    process.env.FAKE_TRIVY_DB_FAILURES = '2'
    const outcome = await scanWithTrivy(options())
    expect(outcome.db?.status).toBe('updated')
    expect(argvLog().filter((c) => c.includes('--download-db-only'))).toHaveLength(3)
  })

  it('falls back to the cached DB with a warning when every download fails', async () => {
    process.env.FAKE_TRIVY_DB_FAILURES = '99'
    const store = folderStore(join(dir, 'store'))
    const old = join(dir, 'store', 'trivy-db-linux-2026-08-20')
    mkdirSync(old, { recursive: true })
    writeFileSync(join(old, 'trivy.db'), 'old db')
    const outcome = await scanWithTrivy(options({ store }))
    expect(outcome.db).toEqual({ status: 'cached', restoredKey: 'trivy-db-linux-2026-08-20' })
    expect(store.saved).toEqual([])
    expect(argvLog().filter((c) => c.includes('--download-db-only'))).toHaveLength(3)
    expect(argvLog().at(-1)).toContain('--skip-db-update')
  })

  it('cannot scan without any DB: a ToolError, and no scan is run', async () => {
    process.env.FAKE_TRIVY_DB_FAILURES = '99'
    const scan = scanWithTrivy(options())
    await expect(scan).rejects.toThrow(ToolError)
    await expect(scanWithTrivy(options())).rejects.toThrow(
      /could not download the Trivy vulnerability DB after 3 attempts and no cached DB exists: .*TOOMANYREQUESTS/
    )
    expect(argvLog().some((c) => c.includes('--output'))).toBe(false)
  })

  it.each([
    [
      'Trivy exits 1',
      { FAKE_TRIVY_SCAN_EXIT: '1' },
      /Trivy exited with 1, so the target was NOT scanned[\s\S]*image not found/
    ],
    [
      'Trivy writes truncated JSON',
      { FAKE_TRIVY_SCAN_OUTPUT: 'garbage' },
      /is not a Trivy JSON report/
    ],
    ['Trivy exits 0 with no report', { FAKE_TRIVY_SCAN_OUTPUT: 'none' }, /wrote no report/]
  ])('%s: a ToolError, never a clean result', async (_name, env, message) => {
    Object.assign(process.env, env)
    // a report from an earlier run must not be picked up as this scan's
    writeFileSync(
      join(dir, 'trivy-results.json'),
      readFileSync(fixturePath('trivy-image-slmicro-clean-zero-vulns.json'))
    )
    const scan = scanWithTrivy(options())
    await expect(scan).rejects.toThrow(ToolError)
    await expect(scanWithTrivy(options())).rejects.toThrow(message)
  })

  it('config scans need no DB and take no --scanners', async () => {
    process.env.FAKE_TRIVY_REPORT = fixturePath('trivy-config-terraform-misconfigs.json')
    const outcome = await scanWithTrivy(
      options({
        scanType: 'config',
        target: '.',
        scanners: ['misconfig'],
        store: folderStore(join(dir, 'store'))
      })
    )
    expect(outcome.db).toBeUndefined()
    expect(events).toEqual([])
    expect(argvLog().map((c) => c[0])).toEqual(['version', 'config'])
    expect(argvLog()[1]).not.toContain('--scanners')
  })
})
