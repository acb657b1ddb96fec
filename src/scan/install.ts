import { createHash } from 'node:crypto'
import { createWriteStream, existsSync } from 'node:fs'
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { arch as osArch, platform as osPlatform } from 'node:os'
import { join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { sleep } from '../core/duration.js'
import { ToolError } from '../core/errors.js'
import { runChecked } from '../core/exec.js'
import { log } from '../core/log.js'
import {
  checksumsAssetName,
  parseChecksums,
  refuseCompromised,
  releaseAssetName,
  TRIVY_RELEASES_URL
} from './trivy-release.js'

export interface InstallOptions {
  version: string
  /** RUNNER_TOOL_CACHE: the layout is @actions/tool-cache's (`trivy/<v>/<arch>` + `.complete`). */
  toolCacheDir: string
  tempDir: string
  /** Where `v<version>/<asset>` is downloaded from (a mirror, or a local server in tests). */
  baseUrl?: string
  platform?: NodeJS.Platform
  arch?: string
  retryDelaysMs?: number[]
}

export interface InstalledTrivy {
  path: string
  fromCache: boolean
  sha256?: string
}

class HttpStatusError extends ToolError {
  constructor(
    readonly status: number,
    url: string
  ) {
    super(`GET ${url} answered HTTP ${status}`)
  }
}

async function get(url: string): Promise<Response> {
  const res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(300_000) })
  if (!res.ok || !res.body) {
    await res.arrayBuffer().catch(() => undefined)
    throw new HttpStatusError(res.status, url)
  }
  return res
}

/** Retries network errors and 5xx/429 with backoff; a 404 is final (wrong version or mirror). */
async function withRetries<T>(what: string, delays: number[], fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      const status = error instanceof HttpStatusError ? error.status : undefined
      const retryable = status === undefined || status >= 500 || status === 429
      if (!retryable || attempt >= delays.length) {
        throw error instanceof ToolError
          ? error
          : new ToolError(`${what}: ${(error as Error).message}`, { cause: error })
      }
      log.warning(`${what} failed (${(error as Error).message}); retrying in ${delays[attempt]} ms`)
      await sleep(delays[attempt])
    }
  }
}

/** Streams a download to `file` and returns its SHA-256, never holding it all in memory. */
async function downloadHashed(url: string, file: string): Promise<string> {
  const res = await get(url)
  const hash = createHash('sha256')
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk)
      done(null, chunk)
    }
  })
  await pipeline(Readable.fromWeb(res.body as never), tap, createWriteStream(file))
  return hash.digest('hex')
}

/**
 * Installs a pinned Trivy release into the tool cache, or reuses the cached one. The archive's
 * SHA-256 must match the release's checksums file, as Trivy's own install.sh checks it.
 */
export interface InstallPlan {
  asset: string
  /** The tool-cache folder the binary is (or would be) in. */
  dir: string
  binary: string
  /** Already installed: nothing would be downloaded. */
  cached: boolean
  archiveUrl: string
  checksumsUrl: string
}

/** Where the release comes from and goes to; only looks at the tool cache, downloads nothing. */
export function planInstall(options: InstallOptions): InstallPlan {
  const { version } = options
  refuseCompromised(version)
  const arch = options.arch ?? osArch()
  const asset = releaseAssetName(version, options.platform ?? osPlatform(), arch)
  const dir = join(options.toolCacheDir, 'trivy', version, arch)
  const binary = join(dir, 'trivy')
  const base = `${options.baseUrl ?? TRIVY_RELEASES_URL}/v${version}`
  return {
    asset,
    dir,
    binary,
    cached: existsSync(`${dir}.complete`) && existsSync(binary),
    archiveUrl: `${base}/${asset}`,
    checksumsUrl: `${base}/${checksumsAssetName(version)}`
  }
}

export async function installTrivy(options: InstallOptions): Promise<InstalledTrivy> {
  const { version } = options
  const { asset, dir, binary, cached, archiveUrl, checksumsUrl } = planInstall(options)
  if (cached) {
    log.info(`Trivy ${version} found in the tool cache: ${binary}`)
    return { path: binary, fromCache: true }
  }
  const delays = options.retryDelaysMs ?? [2000, 6000]
  const sums = await withRetries(`download of ${checksumsUrl}`, delays, async () =>
    parseChecksums(await (await get(checksumsUrl)).text())
  )
  const expected = sums.get(asset)
  if (!expected)
    throw new ToolError(`${checksumsUrl} lists no checksum for ${asset}; refusing to install`)

  await mkdir(options.tempDir, { recursive: true })
  const archive = join(options.tempDir, `${asset}.${process.pid}`)
  try {
    const actual = await withRetries(`download of ${archiveUrl}`, delays, () =>
      downloadHashed(archiveUrl, archive)
    )
    if (actual !== expected) {
      throw new ToolError(
        `SHA-256 of ${asset} is ${actual}, but the release checksums file says ${expected}; refusing to install a tampered or corrupt archive`
      )
    }
    const staging = `${dir}.partial-${process.pid}`
    await rm(staging, { recursive: true, force: true })
    await mkdir(staging, { recursive: true })
    await runChecked(['tar', '-xzf', archive, '-C', staging, 'trivy'])
    await chmod(join(staging, 'trivy'), 0o755)
    await rm(dir, { recursive: true, force: true })
    await rename(staging, dir)
    await writeFile(`${dir}.complete`, '')
    log.info(`installed Trivy ${version} (${asset}, sha256 ${actual}) into ${dir}`)
    return { path: binary, fromCache: false, sha256: actual }
  } finally {
    await rm(archive, { force: true })
  }
}
