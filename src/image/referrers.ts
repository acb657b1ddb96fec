import { ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import { isIndex, MEDIA, type Descriptor } from './media-types.js'
import type { ManifestCopier } from './promote.js'
import { sha256Digest, type Manifest } from './registry-client.js'

/** One signature, SBOM, attestation or referrers index copied along with an image. */
export interface CopiedReferrer {
  /** `tag`: a cosign or referrers-fallback tag copied as is; `subject`: an OCI 1.1 referrer. */
  kind: 'tag' | 'subject'
  /** The tag name, or the referrer's digest. */
  reference: string
  digest: string
  /** The digest it refers to. */
  subject: string
  artifactType?: string
}

/**
 * The tags that hold artifacts about `digest`: the referrers-fallback tag `sha256-<hex>`
 * (distribution-spec 1.1 for registries without the API) and cosign's `sha256-<hex>.sig`,
 * `.att`, `.sbom` (any `.suffix`, as newer cosign tools add their own).
 */
export function referrerTagsFor(digest: string, tags: string[]): string[] {
  const base = digest.replace(/^sha256:/, 'sha256-')
  return tags.filter((t) => t === base || (t.startsWith(`${base}.`) && t.length > base.length + 1))
}

export function fallbackTag(digest: string): string {
  return digest.replace(/^sha256:/, 'sha256-')
}

/** The fallback index with `added` merged in: each digest once, existing entries first. */
export function mergeFallbackIndex(existing: Descriptor[], added: Descriptor[]): Descriptor[] {
  const seen = new Set(existing.map((d) => d.digest))
  return [...existing, ...added.filter((d) => !seen.has(d.digest) && seen.add(d.digest))]
}

/**
 * The fallback-index entry for a referrer, from the manifest itself as the spec defines it
 * (`artifactType`, else the config's media type; the manifest's annotations), not from what a
 * source registry's referrers API reported (go-containerregistry's ignores `artifactType`).
 */
export function descriptorOf(manifest: Manifest): Descriptor {
  const doc = JSON.parse(manifest.bytes.toString('utf8')) as {
    artifactType?: string
    config?: { mediaType?: string }
    annotations?: Record<string, string>
  }
  const artifactType = doc.artifactType ?? doc.config?.mediaType
  return {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.bytes.length,
    ...(artifactType && { artifactType }),
    ...(doc.annotations && { annotations: doc.annotations })
  }
}

function childDigests(manifest: Manifest): string[] {
  if (!isIndex(manifest.mediaType)) return []
  const doc = JSON.parse(manifest.bytes.toString('utf8')) as { manifests?: Descriptor[] }
  return (doc.manifests ?? []).map((d) => d.digest)
}

const MAX_DEPTH = 3

/**
 * Copies what refers to the image (and to each manifest of an index), so `cosign verify` and
 * `oras discover` work on the promoted digest: first the tags named after a digest, then the
 * referrers API. A referrer stored on a target without the API is added to the target's
 * fallback tag, as the spec asks of clients. Referrers of referrers (a signed SBOM) follow,
 * a few levels deep.
 */
export async function copyReferrers(
  copier: ManifestCopier,
  top: Manifest
): Promise<CopiedReferrer[]> {
  const { source } = copier
  if (!source.listTags && !source.referrers) return []
  const tags = source.listTags ? await source.listTags() : []
  const copied: CopiedReferrer[] = []
  const seen = new Set<string>([top.digest])
  const queue = [top.digest, ...childDigests(top)].map((d) => ({ digest: d, depth: 0 }))
  const unindexed = new Map<string, Descriptor[]>()
  for (let item = queue.shift(); item; item = queue.shift()) {
    const { digest: subject, depth } = item
    const follow = (digests: string[]) => {
      for (const d of digests)
        if (!seen.has(d) && depth + 1 < MAX_DEPTH) {
          seen.add(d)
          queue.push({ digest: d, depth: depth + 1 })
        }
    }
    for (const tag of referrerTagsFor(subject, tags)) {
      const manifest = await source.getManifest(tag)
      await copier.copyContent(manifest)
      follow([manifest.digest, ...childDigests(manifest)])
      copied.push({ kind: 'tag', reference: tag, digest: manifest.digest, subject })
      const existing = await copier.target.client.findManifest(copier.target.repository, tag)
      if (!existing || existing.digest === manifest.digest) {
        await copier.put(tag, manifest)
      } else if (tag === fallbackTag(subject) && isIndex(manifest.mediaType)) {
        // The target's fallback index may list referrers attached there: merge, never replace.
        const entries =
          (JSON.parse(manifest.bytes.toString('utf8')) as { manifests?: Descriptor[] }).manifests ??
          []
        unindexed.set(subject, [...(unindexed.get(subject) ?? []), ...entries])
      } else if (keepOrReplace(copier, tag, existing, manifest) === 'replace') {
        await copier.put(tag, manifest)
      }
    }
    for (const listed of (await source.referrers?.(subject)) ?? []) {
      if (copied.some((c) => c.digest === listed.digest)) continue
      const manifest = await source.getManifest(listed.digest)
      await copier.copyContent(manifest)
      const { subjectIndexed } = await copier.put(listed.digest, manifest)
      const entry = descriptorOf(manifest)
      copied.push({
        kind: 'subject',
        reference: listed.digest,
        digest: listed.digest,
        subject,
        ...(entry.artifactType && { artifactType: entry.artifactType })
      })
      if (!subjectIndexed) unindexed.set(subject, [...(unindexed.get(subject) ?? []), entry])
      follow([listed.digest])
    }
  }
  for (const [subject, added] of unindexed) await updateFallbackTag(copier, subject, added)
  return copied
}

function layerDigests(manifest: Manifest): Set<string> {
  const doc = JSON.parse(manifest.bytes.toString('utf8')) as { layers?: Descriptor[] }
  return new Set((doc.layers ?? []).map((l) => l.digest))
}

/**
 * A cosign tag (`.sig`, `.att`, `.sbom`) the target already holds with other content: cosign
 * appends each signature as a layer, so the target may hold signatures made there (a release
 * key). The source's manifest replaces it only when it holds every layer the target's does; a
 * target holding all of the source's is kept; otherwise either way loses a signature: refused.
 */
function keepOrReplace(
  copier: ManifestCopier,
  tag: string,
  existing: Manifest,
  manifest: Manifest
): 'keep' | 'replace' {
  // `cosign attach sbom` replaces its tag rather than appending: the newer SBOM wins.
  if (tag.endsWith('.sbom')) return 'replace'
  const theirs = layerDigests(existing)
  const mine = layerDigests(manifest)
  const onlyTheirs = [...theirs].filter((d) => !mine.has(d)).length
  const onlyMine = [...mine].filter((d) => !theirs.has(d)).length
  if (onlyTheirs === 0) return 'replace'
  const where = `${copier.target.repository}:${tag}`
  if (onlyMine === 0) {
    log.info(
      `${where}: the target's holds every signature of the source's and ${onlyTheirs} more; kept`
    )
    return 'keep'
  }
  throw new ToolError(
    `${where} on the target holds ${onlyTheirs} signature(s) the source does not have, and the ` +
      `source ${onlyMine} the target does not: copying either way would drop some; merge them ` +
      '(sign the promoted digest again, or `cosign copy`) or delete one of them, then promote again'
  )
}

/** Adds referrers to the target's `sha256-<hex>` index (created when missing). */
async function updateFallbackTag(
  copier: ManifestCopier,
  subject: string,
  added: Descriptor[]
): Promise<void> {
  const { client, repository } = copier.target
  const tag = fallbackTag(subject)
  const existing = await client.findManifest(repository, tag)
  const listed = existing
    ? ((JSON.parse(existing.bytes.toString('utf8')) as { manifests?: Descriptor[] }).manifests ??
      [])
    : []
  const manifests = mergeFallbackIndex(listed, added)
  if (existing && manifests.length === listed.length) return
  const bytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests })
  )
  await copier.put(tag, { bytes, mediaType: MEDIA.ociIndex, digest: sha256Digest(bytes) })
  log.info(
    `${repository}:${tag}: the target has no referrers API; listed ${added.length} referrer(s) in the fallback tag`
  )
}
