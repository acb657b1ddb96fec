import * as cache from '@actions/cache'
import { log } from '../core/log.js'
import type { CacheStore } from './db.js'

/** The GitHub Actions cache, or undefined where the runner offers none (CLI, local runs). */
export function actionsCacheStore(): CacheStore | undefined {
  if (!cache.isFeatureAvailable()) {
    log.info('the Actions cache service is not available here; the Trivy DB is not cached')
    return undefined
  }
  return {
    restore: (paths, key, restoreKeys) => cache.restoreCache(paths, key, restoreKeys),
    save: async (paths, key) => {
      await cache.saveCache(paths, key)
    }
  }
}

/** Whether this runner offers the Actions cache (reads environment variables only). */
export function actionsCacheAvailable(): boolean {
  return cache.isFeatureAvailable()
}
