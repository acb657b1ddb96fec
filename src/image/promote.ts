import { ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import { isIndex, type Descriptor } from './media-types.js'
import type { Manifest, RegistryClient } from './registry-client.js'

export interface RepoOn {
  client: RegistryClient
  repository: string
}

export interface PromoteResult {
  digest: string
  mediaType: string
  manifests: number
  blobs: { mounted: number; copied: number; present: number; bytesCopied: number }
}

// Non-distributable (Windows base) layers live at their `urls` and are never pushed.
const FOREIGN = /\.foreign\./

function parseJson(manifest: Manifest): {
  manifests?: Descriptor[]
  config?: Descriptor
  layers?: Descriptor[]
} {
  try {
    return JSON.parse(manifest.bytes.toString('utf8'))
  } catch {
    throw new ToolError(`manifest ${manifest.digest} is not valid JSON`)
  }
}

/** Copies every blob an image manifest references that the target does not have yet. */
class BlobCopier {
  readonly stats = { mounted: 0, copied: 0, present: 0, bytesCopied: 0 }
  private readonly done = new Set<string>()

  constructor(
    private readonly source: RepoOn,
    private readonly target: RepoOn
  ) {}

  private get sameRegistry(): boolean {
    return this.source.client.baseUrl === this.target.client.baseUrl
  }

  async copy(blob: Descriptor): Promise<void> {
    if (this.done.has(blob.digest) || FOREIGN.test(blob.mediaType)) return
    this.done.add(blob.digest)
    const { client, repository } = this.target
    if (await client.hasBlob(repository, blob.digest)) {
      this.stats.present++
      return
    }
    let uploadUrl: string | undefined
    if (this.sameRegistry) {
      uploadUrl = await client.mountBlob(repository, blob.digest, this.source.repository)
      if (uploadUrl === undefined) {
        this.stats.mounted++
        return
      }
    }
    uploadUrl ??= await client.startUpload(repository)
    const body = await this.source.client.getBlob(this.source.repository, blob.digest)
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

/**
 * Copies an image (a manifest, or an index and each manifest in it) from one repository to
 * another, on the same registry or across registries, byte for byte: blobs first (mounted when
 * both are on one registry), then child manifests by digest, then the top manifest under each
 * tag. Nothing is rebuilt, so the digest tested in staging is the digest that ships.
 */
export async function promoteImage(
  source: RepoOn & { reference: string },
  target: RepoOn,
  tags: string[]
): Promise<PromoteResult> {
  const top = await source.client.getManifest(source.repository, source.reference)
  const copier = new BlobCopier(source, target)
  let manifests = 1
  const copyManifest = async (manifest: Manifest, depth: number): Promise<void> => {
    const doc = parseJson(manifest)
    if (isIndex(manifest.mediaType)) {
      if (depth > 2) throw new ToolError(`index ${manifest.digest} nests indexes too deep`)
      for (const child of doc.manifests ?? []) {
        const childManifest = await source.client.getManifest(source.repository, child.digest)
        await copyManifest(childManifest, depth + 1)
        await putVerified(target, child.digest, childManifest)
        manifests++
      }
      return
    }
    await copier.copyAll([...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])])
  }
  await copyManifest(top, 0)
  for (const ref of tags.length > 0 ? tags : [top.digest]) await putVerified(target, ref, top)
  for (const tag of tags) {
    // Read back what the tag now points at: the promise is the same bytes, not a rebuild.
    const stored = await target.client.getManifest(target.repository, tag)
    if (stored.digest !== top.digest) {
      throw new ToolError(
        `${target.repository}:${tag} resolves to ${stored.digest}, expected ${top.digest}`
      )
    }
  }
  log.info(
    `promoted ${top.digest}: ${manifests} manifest(s), blobs ${copier.stats.mounted} mounted, ` +
      `${copier.stats.copied} copied (${copier.stats.bytesCopied} bytes), ${copier.stats.present} already present`
  )
  return { digest: top.digest, mediaType: top.mediaType, manifests, blobs: copier.stats }
}

async function putVerified(target: RepoOn, reference: string, manifest: Manifest): Promise<void> {
  const stored = await target.client.putManifest(target.repository, reference, manifest)
  if (stored && stored !== manifest.digest) {
    throw new ToolError(
      `${target.repository}:${reference}: registry stored ${stored}, expected ${manifest.digest}`
    )
  }
}
