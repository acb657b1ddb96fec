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

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  urls?: string[]
}
