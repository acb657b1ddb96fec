import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { sleep } from '../core/duration.js'
import { ToolError } from '../core/errors.js'
import { runCommand } from '../core/exec.js'
import { log } from '../core/log.js'
import { buildDbDownloadArgs, buildJavaDbDownloadArgs, type TrivySources } from './trivy.js'

/** The parts of @actions/cache we use, so tests can give a local store. */
export interface CacheStore {
  restore(paths: string[], key: string, restoreKeys: string[]): Promise<string | undefined>
  save(paths: string[], key: string): Promise<void>
}

/** One of Trivy's two databases: where it lives in the cache dir and how it is downloaded. */
export interface TrivyDatabase {
  name: string
  /** Folder under --cache-dir, and the file in it that proves it is there. */
  dir: string
  file: string
  keyPrefix: string
  downloadArgs(binary: string, cacheDir: string, sources: TrivySources): string[]
}

export const VULN_DB: TrivyDatabase = {
  name: 'Trivy vulnerability DB',
  dir: 'db',
  file: 'trivy.db',
  keyPrefix: 'trivy-db',
  downloadArgs: buildDbDownloadArgs
}

export const JAVA_DB: TrivyDatabase = {
  name: 'Trivy Java DB',
  dir: 'java-db',
  file: 'trivy-java.db',
  keyPrefix: 'trivy-java-db',
  downloadArgs: buildJavaDbDownloadArgs
}

export interface DbOptions {
  binary: string
  cacheDir: string
  store?: CacheStore
  now: Date
  retryDelaysMs: number[]
  database?: TrivyDatabase
  sources?: TrivySources
  /** Air-gapped: restore from the cache only; the DB must already be there. */
  offline?: boolean
}

export interface DbState {
  /** `updated`: downloaded (or confirmed fresh) now; `cached`: an older DB is used (offline or download failed). */
  status: 'updated' | 'cached'
  restoredKey?: string
  savedKey?: string
}

/** One cache entry per UTC day; the prefix finds the newest older day when today's is missing. */
export function dbCacheKeys(
  now: Date,
  platform: string = process.platform,
  keyPrefix = VULN_DB.keyPrefix
): { key: string; prefix: string } {
  const prefix = `${keyPrefix}-${platform}-`
  return { key: `${prefix}${now.toISOString().slice(0, 10)}`, prefix }
}

async function quietly<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn()
  } catch (error) {
    log.warning(`${what}: ${(error as Error).message}`)
    return undefined
  }
}

export function dbPresent(cacheDir: string, database: TrivyDatabase): boolean {
  return existsSync(join(cacheDir, database.dir, database.file))
}

/** Restores today's (or the newest older) cache entry of a database; undefined when none. */
export async function restoreDb(
  store: CacheStore | undefined,
  cacheDir: string,
  database: TrivyDatabase,
  now: Date
): Promise<string | undefined> {
  if (!store) return undefined
  const { key, prefix } = dbCacheKeys(now, process.platform, database.keyPrefix)
  const restored = await quietly(`restoring the ${database.name} cache failed`, () =>
    store.restore([join(cacheDir, database.dir)], key, [prefix])
  )
  if (restored) log.info(`restored ${database.name} from cache entry ${restored}`)
  return restored
}

/** Saves today's entry unless it is the one restored; a failure only warns. */
export async function saveDb(
  store: CacheStore | undefined,
  cacheDir: string,
  database: TrivyDatabase,
  now: Date,
  restoredKey: string | undefined
): Promise<string | undefined> {
  const { key } = dbCacheKeys(now, process.platform, database.keyPrefix)
  if (!store || restoredKey === key || !dbPresent(cacheDir, database)) return undefined
  const saved = await quietly(`saving the ${database.name} cache failed`, async () => {
    await store.save([join(cacheDir, database.dir)], key)
    return true
  })
  return saved ? key : undefined
}

/**
 * Restores the DB from the cache, updates it (with retries: registries rate-limit), and saves it
 * at once, before any scan or gate can fail the job. When every download fails, an older cached
 * DB is used with a warning; with no DB at all the scan cannot run.
 */
export async function prepareDb(options: DbOptions): Promise<DbState> {
  const database = options.database ?? VULN_DB
  const restoredKey = await restoreDb(options.store, options.cacheDir, database, options.now)
  if (options.offline) {
    if (dbPresent(options.cacheDir, database)) return { status: 'cached', restoredKey }
    throw new ToolError(
      `offline: no ${database.name} in ${join(options.cacheDir, database.dir)} (nothing restored from the cache either); seed it there or run once online`
    )
  }

  const argv = database.downloadArgs(options.binary, options.cacheDir, options.sources ?? {})
  let lastError = ''
  for (let attempt = 0; attempt <= options.retryDelaysMs.length; attempt++) {
    if (attempt > 0) {
      log.warning(
        `${database.name} download failed (attempt ${attempt}); retrying in ${options.retryDelaysMs[attempt - 1]} ms: ${lastError}`
      )
      await sleep(options.retryDelaysMs[attempt - 1])
    }
    const result = await runCommand(argv, { timeoutMs: 600_000 })
    if (result.code === 0 && !result.timedOut) {
      const savedKey = await saveDb(
        options.store,
        options.cacheDir,
        database,
        options.now,
        restoredKey
      )
      return { status: 'updated', restoredKey, savedKey }
    }
    lastError =
      (result.timedOut ? 'timed out' : result.stderr.trim().split('\n').slice(-3).join(' ')) ||
      `exit ${result.code}`
  }
  if (dbPresent(options.cacheDir, database)) {
    log.warning(
      `could not download the ${database.name} after ${options.retryDelaysMs.length + 1} attempts (${lastError}); scanning with the cached DB${restoredKey ? ` from ${restoredKey}` : ''}, which may miss the newest advisories`
    )
    return { status: 'cached', restoredKey }
  }
  throw new ToolError(
    `could not download the ${database.name} after ${options.retryDelaysMs.length + 1} attempts and no cached DB exists: ${lastError}`
  )
}
