import { join } from 'node:path'
import { log } from '../core/log.js'
import { prepareDb, type CacheStore, type DbState } from './db.js'
import { installTrivy } from './install.js'
import type { TrivyReport } from './report.js'
import {
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
  const argv = buildScanArgs(binary, {
    scanType: options.scanType,
    target: options.target,
    scanners: options.scanners,
    cacheDir: options.cacheDir,
    outputFile: options.outputFile,
    skipDbUpdate: db !== undefined
  })
  const report = await log.group(`Scan ${options.scanType} ${options.target}`, () =>
    runScan(argv, options.outputFile, options.timeoutMs ?? 3_600_000)
  )
  return { report, trivyVersion: version, binary, db }
}

export function defaultCacheDir(home: string): string {
  return join(home, '.cache', 'trivy')
}
