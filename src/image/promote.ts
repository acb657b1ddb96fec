import { ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import { RegistrySource, type ImageSource } from './image-source.js'
import { isIndex, isLeftAtUrls, type Descriptor } from './media-types.js'
import { copyReferrers, type CopiedReferrer } from './referrers.js'
import type { Manifest, RegistryClient } from './registry-client.js'

export interface RepoOn {
  client: RegistryClient
  repository: string
}

export interface BlobStats {
  mounted: number
  copied: number
  present: number
  bytesCopied: number
  /** Non-distributable layers left at their URLs. */
  skipped: number
}

export interface PromoteResult {
  digest: string
  mediaType: string
  manifests: number
  blobs: BlobStats
  referrers: CopiedReferrer[]
}

export interface CopyOptions {
  /** Copy signatures, SBOMs and attestations of the image too (default true). */
  referrers?: boolean
}

export function parseManifest(manifest: Manifest): {
  manifests?: Descriptor[]
  config?: Descriptor
  layers?: Descriptor[]
  subject?: Descriptor
} {
  try {
    const doc: unknown = JSON.parse(manifest.bytes.toString('utf8'))
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      throw new Error('not an object')
    return doc
  } catch {
    throw new ToolError(`manifest ${manifest.digest} is not a JSON object`)
  }
}

/** Copies every blob an image manifest references that the target does not have yet. */
class BlobCopier {
  readonly stats: BlobStats = { mounted: 0, copied: 0, present: 0, bytesCopied: 0, skipped: 0 }
  private readonly done = new Set<string>()

  constructor(
    private readonly source: ImageSource,
    private readonly target: RepoOn
  ) {}

  private get mountFrom(): string | undefined {
    const m = this.source.mountable
    return m && m.baseUrl === this.target.client.baseUrl ? m.repository : undefined
  }

  async copy(blob: Descriptor): Promise<void> {
    if (this.done.has(blob.digest)) return
    this.done.add(blob.digest)
    if (isLeftAtUrls(blob)) {
      this.stats.skipped++
      return
    }
    const { client, repository } = this.target
    if (await client.hasBlob(repository, blob.digest)) {
      this.stats.present++
      return
    }
    let uploadUrl: string | undefined
    const from = this.mountFrom
    if (from !== undefined) {
      uploadUrl = await client.mountBlob(repository, blob.digest, from)
      if (uploadUrl === undefined) {
        this.stats.mounted++
        return
      }
    }
    // Open the source first: a layout checks the blob's digest before anything is uploaded.
    const body = await this.source.openBlob(blob)
    uploadUrl ??= await client.startUpload(repository)
    await client.finishUpload(repository, uploadUrl, blob.digest, body, blob.size)
    this.stats.copied++
    this.stats.bytesCopied += blob.size
  }

  /** A few blobs at a time: enough to overlap round trips, few enough not to flood the registry. */
  async copyAll(blobs: Descriptor[], parallel = 4): Promise<void> {
    const queue = [...blobs]
    const worker = async (): Promise<void> => {
      for (let blob = queue.shift(); blob; blob = queue.shift()) await this.copy(blob)
    }
    await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, worker))
  }
}

/** Copies manifests (and what they reference) from one source into one target repository. */
export class ManifestCopier {
  readonly blobs: BlobCopier
  manifests = 0

  constructor(
    readonly source: ImageSource,
    readonly target: RepoOn
  ) {
    this.blobs = new BlobCopier(source, target)
  }

  /** Blobs first, then child manifests by digest, so the registry never sees a dangling reference. */
  async copyContent(manifest: Manifest, depth = 0): Promise<void> {
    const doc = parseManifest(manifest)
    if (isIndex(manifest.mediaType)) {
      if (depth > 2) throw new ToolError(`index ${manifest.digest} nests indexes too deep`)
      for (const child of doc.manifests ?? []) {
        const childManifest = await this.source.getManifest(child.digest)
        await this.copyContent(childManifest, depth + 1)
        await this.put(child.digest, childManifest)
      }
      return
    }
    await this.blobs.copyAll([...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])])
  }

  /** Stores a manifest and checks the registry computed the same digest. */
  async put(reference: string, manifest: Manifest): Promise<{ subjectIndexed: boolean }> {
    const { client, repository } = this.target
    const stored = await client.putManifest(repository, reference, manifest)
    if (stored.digest && stored.digest !== manifest.digest) {
      throw new ToolError(
        `${repository}:${reference}: registry stored ${stored.digest}, expected ${manifest.digest}`
      )
    }
    this.manifests++
    return stored
  }
}

/**
 * Copies an image (a manifest, or an index and each manifest in it) into a repository, byte
 * for byte: blobs first (mounted when source and target share a registry), then child
 * manifests by digest, then the top manifest under each tag, each tag read back; then its
 * referrers (cosign tags, the referrers-fallback tag, OCI 1.1 `subject` referrers). Nothing
 * is rebuilt, so the digest tested in staging is the digest that ships.
 */
export async function copyImage(
  source: ImageSource,
  reference: string,
  target: RepoOn,
  tags: string[],
  options: CopyOptions = {}
): Promise<PromoteResult> {
  const top = await source.getManifest(reference)
  const copier = new ManifestCopier(source, target)
  await copier.copyContent(top)
  const manifests = copier.manifests + 1
  // By digest first, then what refers to it, and the tags last: a failure on the way leaves
  // every tag where it was, never pointing at an image whose signatures did not follow.
  await copier.put(top.digest, top)
  const referrers = options.referrers === false ? [] : await copyReferrers(copier, top)
  for (const tag of tags) await copier.put(tag, top)
  for (const tag of tags) {
    // Read back what the tag now points at: the promise is the same bytes, not a rebuild.
    const stored = await target.client.getManifest(target.repository, tag)
    if (stored.digest !== top.digest) {
      throw new ToolError(
        `${target.repository}:${tag} resolves to ${stored.digest}, expected ${top.digest}`
      )
    }
  }
  const s = copier.blobs.stats
  log.info(
    `copied ${top.digest} from ${source.name}: ${manifests} manifest(s), blobs ${s.mounted} mounted, ` +
      `${s.copied} copied (${s.bytesCopied} bytes), ${s.present} already present` +
      `${s.skipped ? `, ${s.skipped} non-distributable left at their URLs` : ''}; ${referrers.length} referrer(s)`
  )
  return {
    digest: top.digest,
    mediaType: top.mediaType,
    manifests,
    blobs: s,
    referrers
  }
}

/** Promotion between registries (or repositories): `copyImage` from a registry source. */
export function promoteImage(
  source: RepoOn & { reference: string },
  target: RepoOn,
  tags: string[],
  options: CopyOptions = {}
): Promise<PromoteResult> {
  return copyImage(
    new RegistrySource(source.client, source.repository),
    source.reference,
    target,
    tags,
    options
  )
}
