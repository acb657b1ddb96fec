import { rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { log } from '../core/log.js'
import {
  JAVA_DB,
  dbCacheKeys,
  prepareDb,
  restoreDb,
  saveDb,
  type CacheStore,
  type DbState
} from './db.js'
import { installTrivy, planInstall } from './install.js'
import type { SignaturePolicy } from './trivy-signature.js'
import type { TrivyReport } from './report.js'
import {
  ScanFailed,
  buildDbDownloadArgs,
  buildScanArgs,
  isJavaDbFailure,
  mayNeedJavaDb,
  needsVulnDb,
  runScan,
  trivyVersion,
  type Scanner,
  type ScanType,
  type TrivySources
} from './trivy.js'

/** Trivy's `--timeout` when none is given: long enough for large images (Trivy's own is 5m). */
export const DEFAULT_TIMEOUT_MS = 30 * 60_000
/** Beyond Trivy's own timeout, the time it gets to write its error before it is killed. */
const KILL_GRACE_MS = 60_000

export interface ScanOptions extends TrivySources {
  scanType: ScanType
  /** Image reference or path; undefined with `input`. */
  target?: string
  /** An image tar (`docker save`) for `trivy image --input`. */
  input?: string
  scanners: Scanner[]
  /** An existing binary; otherwise `version` is installed into `toolCacheDir`. */
  trivyPath?: string
  version: string
  /** `trivy-sha256`: the archive digest for a version the action embeds none for. */
  sha256?: string
  /** `trivy-signature` and `trivy-trusted-root`: the Sigstore check of a downloaded release. */
  signature?: SignaturePolicy
  trustedRootPath?: string
  toolCacheDir: string
  tempDir: string
  cacheDir: string
  store?: CacheStore
  outputFile: string
  now: Date
  dbRetryDelaysMs?: number[]
  /** Trivy's --timeout. */
  timeoutMs?: number
  skipDirs?: string[]
  skipFiles?: string[]
  configFile?: string
  /** No download of any kind: the DBs come from the cache or are already in cacheDir. */
  offline?: boolean
}

export interface ScanOutcome {
  report: TrivyReport
  trivyVersion: string
  binary: string
  db?: DbState
  /** Set when the Java DB was downloaded with retries after Trivy's own download failed. */
  javaDb?: DbState
}

/** Install (or use) Trivy, prepare its DB, scan once to JSON. Every failure is a ToolError. */
export async function scanWithTrivy(options: ScanOptions): Promise<ScanOutcome> {
  let privateDir: string | undefined
  const binary =
    options.trivyPath ??
    (await log.group('Install Trivy', async () => {
      const installed = await installTrivy({
        version: options.version,
        sha256: options.sha256,
        signature: options.signature,
        trustedRootPath: options.trustedRootPath,
        toolCacheDir: options.toolCacheDir,
        tempDir: options.tempDir
      })
      privateDir = dirname(installed.path)
      return installed.path
    }))
  try {
    return await scanWith(binary, options)
  } finally {
    // the private copy is this run's alone (~150 MB): gone with the run, cancelled or not
    if (privateDir) await rm(privateDir, { recursive: true, force: true })
  }
}

async function scanWith(binary: string, options: ScanOptions): Promise<ScanOutcome> {
  const version = await trivyVersion(binary)
  const retryDelaysMs = options.dbRetryDelaysMs ?? [10_000, 30_000, 60_000]
  let db: DbState | undefined
  if (needsVulnDb(options.scanType, options.scanners)) {
    db = await log.group('Trivy vulnerability DB', () =>
      prepareDb({
        binary,
        cacheDir: options.cacheDir,
        store: options.store,
        now: options.now,
        retryDelaysMs,
        sources: options,
        offline: options.offline
      })
    )
  }
  const timeoutMs = (options.timeoutMs ?? DEFAULT_TIMEOUT_MS) + KILL_GRACE_MS
  const java = mayNeedJavaDb(options.scanType, options.scanners)
  // The Java DB is only needed when a jar is found, and Trivy then downloads it itself: restore
  // it from the cache first, so most scans download nothing; save it after if Trivy fetched it.
  const javaRestored = java
    ? await restoreDb(options.store, options.cacheDir, JAVA_DB, options.now)
    : undefined
  const scan = (skipJavaDbUpdate: boolean) =>
    log.group(`Scan ${options.scanType} ${options.input ?? options.target}`, () =>
      runScan(
        scanArgs(binary, options, db !== undefined, skipJavaDbUpdate),
        options.outputFile,
        timeoutMs
      )
    )
  let report: TrivyReport
  let javaDb: DbState | undefined
  try {
    report = await scan(false)
  } catch (error) {
    if (!(java && !options.offline && error instanceof ScanFailed && isJavaDbFailure(error.stderr)))
      throw error
    log.warning(`Trivy could not download the Java DB during the scan; retrying it on its own`)
    javaDb = await log.group('Trivy Java DB', () =>
      prepareDb({
        binary,
        cacheDir: options.cacheDir,
        store: undefined,
        now: options.now,
        retryDelaysMs,
        database: JAVA_DB,
        sources: options
      })
    )
    report = await scan(true)
  }
  if (java) await saveDb(options.store, options.cacheDir, JAVA_DB, options.now, javaRestored)
  return { report, trivyVersion: version, binary, db, javaDb }
}

function scanArgs(
  binary: string,
  options: Omit<ScanOptions, 'store'>,
  skipDbUpdate: boolean,
  skipJavaDbUpdate = false
): string[] {
  return buildScanArgs(binary, {
    scanType: options.scanType,
    target: options.target,
    input: options.input,
    scanners: options.scanners,
    cacheDir: options.cacheDir,
    outputFile: options.outputFile,
    skipDbUpdate,
    skipJavaDbUpdate,
    offline: options.offline,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    skipDirs: options.skipDirs,
    skipFiles: options.skipFiles,
    configFile: options.configFile,
    dbRepositories: options.dbRepositories,
    javaDbRepositories: options.javaDbRepositories,
    checksBundleRepository: options.checksBundleRepository
  })
}

export interface ScanPreview {
  binary: string
  /** How the binary would be obtained, for the log and summary. */
  trivy: string
  /** The DB step, when the scan needs the vulnerability DB. */
  db?: { argv: string[]; cacheKey?: string; offline?: boolean }
  argv: string[]
}

/**
 * What scanWithTrivy would run, without running it: no download, no install, no DB, no cache.
 * A `trivyPath` binary is asked its version (read-only; refuses a compromised build).
 */
export async function previewScan(
  options: Omit<ScanOptions, 'store'> & { cache: boolean }
): Promise<ScanPreview> {
  let binary: string
  let trivy: string
  if (options.trivyPath) {
    binary = options.trivyPath
    trivy = `${binary} (trivy-path), Trivy ${await trivyVersion(binary)}`
  } else {
    const install = planInstall({
      version: options.version,
      sha256: options.sha256,
      signature: options.signature,
      trustedRootPath: options.trustedRootPath,
      toolCacheDir: options.toolCacheDir,
      tempDir: options.tempDir
    })
    binary = install.binary
    trivy = install.cached
      ? `Trivy ${options.version} from the tool cache: ${binary} (re-hashed before use)`
      : `Trivy ${options.version}: would download ${install.archiveUrl}, check its SHA-256 ${install.trust}, ${install.signatureCheck} and install it as ${binary}`
  }
  const needsDb = needsVulnDb(options.scanType, options.scanners)
  const db = needsDb
    ? {
        argv: buildDbDownloadArgs(binary, options.cacheDir, options),
        cacheKey: options.cache ? dbCacheKeys(options.now).key : undefined,
        offline: options.offline
      }
    : undefined
  return { binary, trivy, db, argv: scanArgs(binary, options, needsDb) }
}

export function defaultCacheDir(home: string): string {
  return join(home, '.cache', 'trivy')
}
