import { createHash } from 'node:crypto'
import { spawn } from 'node:child_process'
import { createReadStream, createWriteStream, existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, open, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { arch as osArch, platform as osPlatform } from 'node:os'
import { basename, join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { sleep } from '../core/duration.js'
import { ToolError } from '../core/errors.js'
import { runChecked } from '../core/exec.js'
import { log } from '../core/log.js'
import {
  KNOWN_GOOD_ARCHIVES,
  knownGoodSha256,
  refuseCompromised,
  releaseAssetName,
  TRIVY_RELEASES_URL
} from './trivy-release.js'
import {
  bundleAssetName,
  DEFAULT_SIGNATURE_POLICY,
  loadTrustedRoot,
  type SignaturePolicy,
  trivySigningIdentity,
  TRIVY_SIGNING_ISSUER,
  type VerifiedSigner,
  verifyTrivyBundle
} from './trivy-signature.js'

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
  /** `trivy-sha256`: the archive digest the user vouches for (versions not embedded). */
  sha256?: string
  /** `trivy-signature`: the release's Sigstore bundle must verify (default), may be absent, or is not fetched. */
  signature?: SignaturePolicy
  /** `trivy-trusted-root`: a trusted_root.json instead of Sigstore's public-good TUF root. */
  trustedRootPath?: string
}

export interface InstalledTrivy {
  /** The binary to run: extracted from hashed archive bytes into a private 0700 directory. */
  path: string
  /** The tool cache's copy (kept for the next job; never executed by this action). */
  toolCacheBinary: string
  fromCache: boolean
  sha256?: string
  /** The Sigstore signer whose bundle verified; absent from the cache or without a bundle. */
  signer?: VerifiedSigner
}

/** Trivy release archives are ~50 MB; a larger file in the cache is not one. */
const MAX_ARCHIVE_BYTES = 512 * 1024 * 1024
/** A Sigstore bundle is a few kB (a certificate, a signature, a log entry). */
const MAX_BUNDLE_BYTES = 1024 * 1024

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

export interface InstallPlan {
  asset: string
  /** The tool-cache folder the binary is (or would be) in. */
  dir: string
  binary: string
  /** The verified archive kept beside the binary, re-hashed before every use. */
  archive: string
  /** Already installed: nothing would be downloaded (the binary is still re-checked). */
  cached: boolean
  archiveUrl: string
  /** The release's Sigstore bundle, `<asset>.sigstore.json`. */
  bundleUrl: string
  signature: SignaturePolicy
  /** What the signature check is, for the log and the dry run. */
  signatureCheck: string
  /** The digest the archive must have, from the embedded table or `trivy-sha256`. */
  expectedSha256?: string
  /** Where that digest comes from, for the log and the dry run. */
  trust: string
}

/** Where the release comes from and goes to; only looks at the tool cache, downloads nothing. */
export function planInstall(options: InstallOptions): InstallPlan {
  const { version } = options
  refuseCompromised(version)
  const arch = options.arch ?? osArch()
  const asset = releaseAssetName(version, options.platform ?? osPlatform(), arch)
  const dir = join(options.toolCacheDir, 'trivy', version, arch)
  const binary = join(dir, 'trivy')
  const archive = join(dir, asset)
  const embedded = knownGoodSha256(version, asset)
  const expectedSha256 = options.sha256 ?? embedded
  const base = `${options.baseUrl ?? TRIVY_RELEASES_URL}/v${version}`
  const signature = options.signature ?? DEFAULT_SIGNATURE_POLICY
  return {
    asset,
    dir,
    binary,
    archive,
    cached: existsSync(`${dir}.complete`) && existsSync(binary) && existsSync(archive),
    archiveUrl: `${base}/${asset}`,
    bundleUrl: `${base}/${bundleAssetName(asset)}`,
    signature,
    signatureCheck:
      signature === 'off'
        ? 'skip its Sigstore bundle (trivy-signature: off)'
        : `verify its Sigstore bundle ${bundleAssetName(asset)}${signature === 'if-present' ? ' (when the release has one)' : ''} against ${options.trustedRootPath ?? "Sigstore's public-good trusted root"} for ${trivySigningIdentity(version)} issued by ${TRIVY_SIGNING_ISSUER}`,
    expectedSha256,
    trust: options.sha256
      ? `against trivy-sha256 ${options.sha256}`
      : embedded
        ? `against the digest embedded in this action (${embedded})`
        : 'against nothing: no embedded digest for this version and no trivy-sha256'
  }
}

function unverifiable(version: string, asset: string): ToolError {
  return new ToolError(
    `Trivy ${version}: this action embeds no SHA-256 for ${asset} (it does for ${Object.keys(KNOWN_GOOD_ARCHIVES).join(', ')}); give \`trivy-sha256\` with the digest from a source you trust, or use a supported version. A checksums file from the same release would vouch for nothing.`
  )
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(path), hash)
  return hash.digest('hex')
}

/** SHA-256 of the `trivy` member of a .tar.gz, streamed out of tar (never extracted to disk). */
async function memberSha256(archive: string, member: string): Promise<string> {
  const tar = spawn('tar', ['-xzOf', archive, member], { stdio: ['ignore', 'pipe', 'pipe'] })
  const hash = createHash('sha256')
  let stderr = ''
  tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number>((res) => tar.on('close', (code) => res(code ?? 1)))
  await pipeline(tar.stdout, hash)
  const code = await exited
  if (code !== 0)
    throw new ToolError(`tar could not read ${member} from ${archive}: ${stderr.trim()}`)
  return hash.digest('hex')
}

async function extractBinary(archive: string, dir: string): Promise<void> {
  const staging = `${dir}.partial-${process.pid}`
  await rm(staging, { recursive: true, force: true })
  await mkdir(staging, { recursive: true })
  await runChecked(['tar', '-xzf', archive, '-C', staging, 'trivy'])
  await chmod(join(staging, 'trivy'), 0o755)
  await rename(archive, join(staging, basename(archive)))
  await rm(dir, { recursive: true, force: true })
  await rename(staging, dir)
}

/**
 * A tool-cache hit is trusted only after proof: its archive must still hash to the expected
 * digest and the binary must be byte for byte the archive's `trivy`. A planted or swapped
 * binary is replaced from the verified archive; a swapped archive means a fresh download.
 */
async function checkCached(plan: InstallPlan, version: string): Promise<boolean> {
  const archiveSha = await sha256File(plan.archive)
  if (archiveSha !== plan.expectedSha256) {
    log.warning(
      `the tool cache's ${plan.asset} hashes to ${archiveSha}, not ${plan.expectedSha256}: discarding it and downloading Trivy ${version} again`
    )
    return false
  }
  const [inArchive, onDisk] = await Promise.all([
    memberSha256(plan.archive, 'trivy'),
    sha256File(plan.binary)
  ])
  if (inArchive !== onDisk) {
    log.warning(
      `the tool cache's Trivy binary (${plan.binary}, sha256 ${onDisk}) is not the one in its verified archive (${inArchive}): replacing it from the archive`
    )
    const archive = `${plan.dir}.archive-${process.pid}`
    await rename(plan.archive, archive)
    await extractBinary(archive, plan.dir)
    await rename(join(plan.dir, basename(archive)), plan.archive)
  }
  return true
}

/**
 * The tool cache is shared by every job on a self-hosted runner, so a binary hashed there can be
 * swapped before it runs. The archive is read once into memory, hashed, and the binary that runs
 * is extracted from those same bytes into a fresh 0700 directory only this process writes.
 */
async function privateBinary(
  archivePath: string,
  expectedSha256: string,
  tempDir: string
): Promise<string> {
  const handle = await open(archivePath, 'r')
  let bytes: Buffer
  try {
    const { size } = await handle.stat()
    if (size > MAX_ARCHIVE_BYTES)
      throw new ToolError(
        `${archivePath} is ${size} bytes, larger than any Trivy release archive (${MAX_ARCHIVE_BYTES})`
      )
    bytes = await handle.readFile()
  } finally {
    await handle.close()
  }
  const actual = createHash('sha256').update(bytes).digest('hex')
  if (actual !== expectedSha256)
    throw new ToolError(
      `${archivePath} changed after it was verified (sha256 ${actual}, expected ${expectedSha256}): another process is writing the tool cache; refusing to run it`
    )
  await mkdir(tempDir, { recursive: true })
  const dir = await mkdtemp(join(tempDir, 'trivy-run-'))
  await chmod(dir, 0o700)
  const binary = join(dir, 'trivy')
  const tar = spawn('tar', ['-xzO', '-f', '-', 'trivy'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number>((res) => tar.on('close', (code) => res(code ?? 1)))
  tar.stdin.on('error', () => undefined) // tar exits early on a bad archive; its code says why
  tar.stdin.end(bytes)
  await pipeline(tar.stdout, createWriteStream(binary, { mode: 0o700, flags: 'wx' }))
  const code = await exited
  if (code !== 0)
    throw new ToolError(`tar could not read trivy from ${archivePath}: ${stderr.trim()}`)
  return binary
}

/** The bundle's text, or undefined when the release has none (HTTP 404). */
async function downloadBundle(url: string, delays: number[]): Promise<string | undefined> {
  try {
    return await withRetries(`download of ${url}`, delays, async () => {
      const res = await get(url)
      const length = Number(res.headers.get('content-length') ?? 0)
      if (length > MAX_BUNDLE_BYTES) {
        await res.body?.cancel()
        throw new ToolError(`${url} is ${length} bytes, larger than any Sigstore bundle`)
      }
      const bytes = Buffer.from(await res.arrayBuffer())
      if (bytes.length > MAX_BUNDLE_BYTES)
        throw new ToolError(`${url} is ${bytes.length} bytes, larger than any Sigstore bundle`)
      return bytes.toString('utf8')
    })
  } catch (error) {
    if (error instanceof HttpStatusError && error.status === 404) return undefined
    throw error
  }
}

/**
 * The checksum proves the bytes are the ones we expect; the Sigstore bundle proves Trivy's
 * release workflow signed them (and, for a version given with `trivy-sha256`, is the only
 * proof of origin there is). Verified over the archive bytes in memory, re-hashed so they are
 * the ones whose digest was checked; a bundle that is there and fails is always refused.
 */
async function checkSignature(
  plan: InstallPlan,
  options: InstallOptions,
  archive: string,
  expectedSha256: string,
  delays: number[]
): Promise<VerifiedSigner | undefined> {
  const { version } = options
  if (plan.signature === 'off') {
    log.warning(
      `trivy-signature is off: Trivy ${version}'s Sigstore bundle is not checked, only its SHA-256`
    )
    return undefined
  }
  const bundleJson = await downloadBundle(plan.bundleUrl, delays)
  if (bundleJson === undefined) {
    if (plan.signature === 'require')
      throw new ToolError(
        `Trivy ${version} has no Sigstore bundle at ${plan.bundleUrl} (HTTP 404) and trivy-signature is \`require\`: refusing an archive whose origin cannot be verified (Trivy signs its releases since 0.68.1; for an older one, or a mirror without bundles, set \`trivy-signature: if-present\`)`
      )
    log.warning(
      `Trivy ${version} has no Sigstore bundle at ${plan.bundleUrl}; trivy-signature is if-present, so only its SHA-256 is checked`
    )
    return undefined
  }
  // Not in the tool cache: another job on a self-hosted runner can write there, and
  // @sigstore/tuf trusts a root.json it finds in its cache over its embedded one. A fresh
  // directory of this run starts from the embedded root (a few kB of TUF metadata per download).
  await mkdir(options.tempDir, { recursive: true })
  const tufCacheDir = await mkdtemp(join(options.tempDir, 'sigstore-tuf-'))
  let trustedRoot
  try {
    trustedRoot = await loadTrustedRoot({
      trustedRootPath: options.trustedRootPath,
      tufCacheDir
    })
  } finally {
    await rm(tufCacheDir, { recursive: true, force: true })
  }
  const artifact = await readFile(archive)
  const sha = createHash('sha256').update(artifact).digest('hex')
  if (sha !== expectedSha256)
    throw new ToolError(
      `${archive} changed after it was hashed (sha256 ${sha}, expected ${expectedSha256}); refusing it`
    )
  const signer = verifyTrivyBundle({
    bundleJson,
    artifact,
    asset: plan.asset,
    version,
    trustedRoot
  })
  log.info(
    signer.content === 'attestation'
      ? `Sigstore attestation of ${plan.asset} verified: signed by ${signer.identity} (issuer ${signer.issuer}); its in-toto Statement${signer.predicateType ? ` (${signer.predicateType})` : ''} names the archive's SHA-256 as subject ${signer.subject}`
      : `Sigstore bundle of ${plan.asset} verified: signed by ${signer.identity} (issuer ${signer.issuer}), a message signature over the archive`
  )
  return signer
}

/**
 * Installs a pinned Trivy release into the tool cache, or reuses the cached one after
 * re-hashing it. The archive must match a digest this action trusts (embedded, or the user's
 * `trivy-sha256`), never only the checksums file served beside it.
 */
export async function installTrivy(options: InstallOptions): Promise<InstalledTrivy> {
  const { version } = options
  const plan = planInstall(options)
  const { asset, dir, binary, archiveUrl, expectedSha256 } = plan
  if (!expectedSha256) throw unverifiable(version, asset)
  if (plan.cached && (await checkCached(plan, version))) {
    const path = await privateBinary(plan.archive, expectedSha256, options.tempDir)
    log.info(
      `Trivy ${version} found in the tool cache and re-verified; running a private copy: ${path}`
    )
    return { path, toolCacheBinary: binary, fromCache: true, sha256: expectedSha256 }
  }
  const delays = options.retryDelaysMs ?? [2000, 6000]
  await mkdir(options.tempDir, { recursive: true })
  const archive = join(options.tempDir, `${asset}.${process.pid}`)
  try {
    const actual = await withRetries(`download of ${archiveUrl}`, delays, () =>
      downloadHashed(archiveUrl, archive)
    )
    if (actual !== expectedSha256) {
      throw new ToolError(
        `SHA-256 of ${asset} is ${actual}, but ${plan.trust.replace(/^against /, '')} says ${expectedSha256}; refusing to install a tampered or corrupt archive`
      )
    }
    const signer = await checkSignature(plan, options, archive, expectedSha256, delays)
    await rm(`${dir}.complete`, { force: true })
    await extractBinary(archive, dir)
    await rename(join(dir, basename(archive)), plan.archive)
    await writeFile(`${dir}.complete`, '')
    log.info(`installed Trivy ${version} (${asset}, sha256 ${actual}) into ${dir}`)
    const path = await privateBinary(plan.archive, expectedSha256, options.tempDir)
    return { path, toolCacheBinary: binary, fromCache: false, sha256: actual, signer }
  } finally {
    await rm(archive, { force: true })
  }
}
