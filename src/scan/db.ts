import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { sleep } from '../core/duration.js'
import { ToolError } from '../core/errors.js'
import { runCommand } from '../core/exec.js'
import { log } from '../core/log.js'
import { buildDbDownloadArgs } from './trivy.js'

/** The parts of @actions/cache we use, so tests can give a local store. */
export interface CacheStore {
  restore(paths: string[], key: string, restoreKeys: string[]): Promise<string | undefined>
  save(paths: string[], key: string): Promise<void>
}

export interface DbOptions {
  binary: string
  cacheDir: string
  store?: CacheStore
  now: Date
  retryDelaysMs: number[]
}

export interface DbState {
  /** `updated`: downloaded (or confirmed fresh) now; `cached`: download failed, an older DB is used. */
  status: 'updated' | 'cached'
  restoredKey?: string
  savedKey?: string
}

/** One cache entry per UTC day; the prefix finds the newest older day when today's is missing. */
export function dbCacheKeys(
  now: Date,
  platform: string = process.platform
): { key: string; prefix: string } {
  const prefix = `trivy-db-${platform}-`
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

/**
 * Restores the DB from the cache, updates it (with retries: registries rate-limit), and saves it
 * at once, before any scan or gate can fail the job. When every download fails, an older cached
 * DB is used with a warning; with no DB at all the scan cannot run.
 */
export async function prepareDb(options: DbOptions): Promise<DbState> {
  const paths = [join(options.cacheDir, 'db')]
  const { key, prefix } = dbCacheKeys(options.now)
  const restoredKey = options.store
    ? await quietly('restoring the Trivy DB cache failed', () =>
        options.store!.restore(paths, key, [prefix])
      )
    : undefined
  if (restoredKey) log.info(`restored Trivy DB from cache entry ${restoredKey}`)

  const argv = buildDbDownloadArgs(options.binary, options.cacheDir)
  let lastError = ''
  for (let attempt = 0; attempt <= options.retryDelaysMs.length; attempt++) {
    if (attempt > 0) {
      log.warning(
        `Trivy DB download failed (attempt ${attempt}); retrying in ${options.retryDelaysMs[attempt - 1]} ms: ${lastError}`
      )
      await sleep(options.retryDelaysMs[attempt - 1])
    }
    const result = await runCommand(argv, { timeoutMs: 600_000 })
    if (result.code === 0 && !result.timedOut) {
      let savedKey: string | undefined
      if (options.store && restoredKey !== key) {
        const saved = await quietly('saving the Trivy DB cache failed', async () => {
          await options.store!.save(paths, key)
          return true
        })
        savedKey = saved ? key : undefined
      }
      return { status: 'updated', restoredKey, savedKey }
    }
    lastError =
      (result.timedOut ? 'timed out' : result.stderr.trim().split('\n').slice(-3).join(' ')) ||
      `exit ${result.code}`
  }
  if (existsSync(join(options.cacheDir, 'db', 'trivy.db'))) {
    log.warning(
      `could not download the Trivy DB after ${options.retryDelaysMs.length + 1} attempts (${lastError}); scanning with the cached DB${restoredKey ? ` from ${restoredKey}` : ''}, which may miss the newest advisories`
    )
    return { status: 'cached', restoredKey }
  }
  throw new ToolError(
    `could not download the Trivy vulnerability DB after ${options.retryDelaysMs.length + 1} attempts and no cached DB exists: ${lastError}`
  )
}
