export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json'
} as const

/** Every manifest kind we copy; sent as Accept so the registry returns the stored bytes as is. */
export const MANIFEST_ACCEPT = Object.values(MEDIA).join(', ')

export function isIndex(mediaType: string): boolean {
  return mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList
}

export function isManifestType(mediaType: string): boolean {
  return (Object.values(MEDIA) as string[]).includes(mediaType)
}

/**
 * Layers that live at their `urls` and are never pushed: Docker's `foreign` (Windows base
 * layers) and OCI's `nondistributable` types (image-spec layer.md, deprecated but still built).
 */
export function isNonDistributable(mediaType: string): boolean {
  return (
    /^application\/vnd\.docker\.image\.rootfs\.foreign\.diff\.tar(\.gzip)?$/.test(mediaType) ||
    /^application\/vnd\.oci\.image\.layer\.nondistributable\.v1\.tar(\+gzip|\+zstd)?$/.test(
      mediaType
    )
  )
}

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  urls?: string[]
  annotations?: Record<string, string>
  artifactType?: string
}

/**
 * A layer left at its URLs: non-distributable and naming where it lives. One without `urls`
 * exists only in the registry that holds it, so it is copied like any other layer.
 */
export function isLeftAtUrls(blob: { mediaType: string; urls?: string[] }): boolean {
  return isNonDistributable(blob.mediaType) && Array.isArray(blob.urls) && blob.urls.length > 0
}
