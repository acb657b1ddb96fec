import type { Descriptor } from './media-types.js'
import type { Manifest, RegistryClient } from './registry-client.js'

/** Where an image is copied from: a repository on a registry, or an OCI layout directory. */
export interface ImageSource {
  /** For messages: `ghcr.io/org/app` or `oci-layout ./out`. */
  readonly name: string
  /** The manifest by tag or digest, its bytes checked against the digest. */
  getManifest(reference: string): Promise<Manifest>
  /** A blob's bytes as a stream; a source that can, checks them against the digest first. */
  openBlob(blob: Descriptor): Promise<ReadableStream<Uint8Array>>
  /** The repository blobs can be mounted from, when the target is on the same registry. */
  readonly mountable?: { baseUrl: string; repository: string }
  /** Tags of the source repository (for cosign and referrers-fallback tags); none for a layout. */
  listTags?(): Promise<string[]>
  /** OCI 1.1 referrers of a digest; undefined when the source has no referrers API. */
  referrers?(digest: string): Promise<Descriptor[] | undefined>
}

export class RegistrySource implements ImageSource {
  readonly name: string
  readonly mountable: { baseUrl: string; repository: string }

  constructor(
    readonly client: RegistryClient,
    readonly repository: string
  ) {
    this.name = `${client.registry}/${repository}`
    this.mountable = { baseUrl: client.baseUrl, repository }
  }

  getManifest(reference: string): Promise<Manifest> {
    return this.client.getManifest(this.repository, reference)
  }

  openBlob(blob: Descriptor): Promise<ReadableStream<Uint8Array>> {
    return this.client.getBlob(this.repository, blob.digest)
  }

  listTags(): Promise<string[]> {
    return this.client.listTags(this.repository)
  }

  referrers(digest: string): Promise<Descriptor[] | undefined> {
    return this.client.referrers(this.repository, digest)
  }
}
