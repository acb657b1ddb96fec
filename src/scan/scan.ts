import { join } from 'node:path'
import { log } from '../core/log.js'
import { dbCacheKeys, prepareDb, type CacheStore, type DbState } from './db.js'
import { installTrivy, planInstall } from './install.js'
import type { TrivyReport } from './report.js'
import {
  buildDbDownloadArgs,
  buildScanArgs,
  needsVulnDb,
  runScan,
  trivyVersion,
  type Scanner,
  type ScanType
} from './trivy.js'

export interface ScanOptions {
  scanType: ScanType
  target: string
  scanners: Scanner[]
  /** An existing binary; otherwise `version` is installed into `toolCacheDir`. */
  trivyPath?: string
  version: string
  toolCacheDir: string
  tempDir: string
  cacheDir: string
  store?: CacheStore
  outputFile: string
  now: Date
  dbRetryDelaysMs?: number[]
  timeoutMs?: number
}

export interface ScanOutcome {
  report: TrivyReport
  trivyVersion: string
  binary: string
  db?: DbState
}

/** Install (or use) Trivy, prepare its DB, scan once to JSON. Every failure is a ToolError. */
export async function scanWithTrivy(options: ScanOptions): Promise<ScanOutcome> {
  const binary =
    options.trivyPath ??
    (await log.group('Install Trivy', async () => {
      const installed = await installTrivy({
        version: options.version,
        toolCacheDir: options.toolCacheDir,
        tempDir: options.tempDir
      })
      return installed.path
    }))
  const version = await trivyVersion(binary)
  let db: DbState | undefined
  if (needsVulnDb(options.scanType, options.scanners)) {
    db = await log.group('Trivy vulnerability DB', () =>
      prepareDb({
        binary,
        cacheDir: options.cacheDir,
        store: options.store,
        now: options.now,
        retryDelaysMs: options.dbRetryDelaysMs ?? [10_000, 30_000, 60_000]
      })
    )
  }
  const argv = scanArgs(binary, options, db !== undefined)
  const report = await log.group(`Scan ${options.scanType} ${options.target}`, () =>
    runScan(argv, options.outputFile, options.timeoutMs ?? 3_600_000)
  )
  return { report, trivyVersion: version, binary, db }
}

function scanArgs(
  binary: string,
  options: Omit<ScanOptions, 'store'>,
  skipDbUpdate: boolean
): string[] {
  return buildScanArgs(binary, {
    scanType: options.scanType,
    target: options.target,
    scanners: options.scanners,
    cacheDir: options.cacheDir,
    outputFile: options.outputFile,
    skipDbUpdate
  })
}

export interface ScanPlan {
  binary: string
  /** How the binary would be obtained, for the log and summary. */
  trivy: string
  /** The DB step, when the scan needs the vulnerability DB. */
  db?: { argv: string[]; cacheKey?: string }
  argv: string[]
}

/**
 * What scanWithTrivy would run, without running it: no download, no install, no DB, no cache.
 * A `trivyPath` binary is asked its version (read-only; refuses a compromised build).
 */
export async function planScan(
  options: Omit<ScanOptions, 'store'> & { cache: boolean }
): Promise<ScanPlan> {
  let binary: string
  let trivy: string
  if (options.trivyPath) {
    binary = options.trivyPath
    trivy = `${binary} (trivy-path), Trivy ${await trivyVersion(binary)}`
  } else {
    const install = planInstall({
      version: options.version,
      toolCacheDir: options.toolCacheDir,
      tempDir: options.tempDir
    })
    binary = install.binary
    trivy = install.cached
      ? `Trivy ${options.version} from the tool cache: ${binary}`
      : `Trivy ${options.version}: would download ${install.archiveUrl}, check its SHA-256 against ${install.checksumsUrl} and install it as ${binary}`
  }
  const needsDb = needsVulnDb(options.scanType, options.scanners)
  const db = needsDb
    ? {
        argv: buildDbDownloadArgs(binary, options.cacheDir),
        cacheKey: options.cache ? dbCacheKeys(options.now).key : undefined
      }
    : undefined
  return { binary, trivy, db, argv: scanArgs(binary, options, needsDb) }
}

export function defaultCacheDir(home: string): string {
  return join(home, '.cache', 'trivy')
}
