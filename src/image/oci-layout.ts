import { createHash } from 'node:crypto'
import { createReadStream, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { ConfigurationError } from '../core/errors.js'
import type { ImageSource } from './image-source.js'
import { isIndex, isManifestType, isLeftAtUrls, type Descriptor } from './media-types.js'
import { DIGEST } from './reference.js'
import { sha256Digest, type Manifest } from './registry-client.js'

const REF_NAME = 'org.opencontainers.image.ref.name'

export interface LayoutCheck {
  manifests: number
  blobs: number
  bytes: number
  /** Non-distributable layers the layout need not hold. */
  skipped: number
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return `sha256:${hash.digest('hex')}`
}

/**
 * An OCI image layout directory (image-spec image-layout.md: `oci-layout`, `index.json`,
 * `blobs/sha256/<hex>`), as written by `buildx --output type=oci,tar=false`, ko, jib, Bazel
 * rules_oci, nix or `crane pull --format=oci`. Blob paths come only from digests that match
 * `sha256:<64 hex>`, so no descriptor can name a file outside the directory.
 */
export class OciLayoutSource implements ImageSource {
  readonly name: string
  private readonly mediaTypes = new Map<string, string>()
  /** Blobs whose size and sha256 were checked (by `check`); others are checked on open. */
  private readonly checked = new Set<string>()

  private constructor(
    readonly dir: string,
    private readonly input: string,
    readonly entries: Descriptor[]
  ) {
    this.name = `oci-layout ${dir}`
    for (const d of entries) this.mediaTypes.set(d.digest, d.mediaType)
  }

  private bad(why: string): never {
    throw new ConfigurationError(
      `input \`${this.input}\` = \`${this.dir}\`: ${why} (an OCI image layout: oci-layout, index.json, blobs/sha256/…)`,
      this.input
    )
  }

  /** Opens and checks the layout's two metadata files; reads no blob yet. */
  static open(dir: string, input = 'oci-layout'): OciLayoutSource {
    const fail = (why: string): never => {
      throw new ConfigurationError(
        `input \`${input}\` = \`${dir}\`: ${why} (an OCI image layout: oci-layout, index.json, blobs/sha256/…)`,
        input
      )
    }
    const readJson = (file: string): Record<string, unknown> => {
      let text: string
      try {
        text = readFileSync(join(dir, file), 'utf8')
      } catch (e) {
        return fail(
          `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`
        )
      }
      try {
        const doc: unknown = JSON.parse(text)
        if (typeof doc === 'object' && doc !== null && !Array.isArray(doc))
          return doc as Record<string, unknown>
      } catch {
        // reported below
      }
      return fail(`${file} is not a JSON object`)
    }
    const marker = readJson('oci-layout')
    if (marker.imageLayoutVersion !== '1.0.0')
      fail(
        `oci-layout has imageLayoutVersion ${JSON.stringify(marker.imageLayoutVersion)}, expected "1.0.0"`
      )
    const index = readJson('index.json')
    if (!Array.isArray(index.manifests)) fail('index.json has no `manifests` list')
    const entries = (index.manifests as Descriptor[]).filter(
      (d): d is Descriptor => typeof d === 'object' && d !== null && typeof d.digest === 'string'
    )
    for (const d of entries) {
      if (!DIGEST.test(d.digest))
        fail(`index.json lists digest \`${d.digest}\`; only sha256:<64 hex> is accepted`)
      if (!isManifestType(d.mediaType))
        fail(`index.json lists ${d.digest} as \`${d.mediaType}\`, not an image manifest or index`)
    }
    if (entries.length === 0) fail('index.json lists no image')
    return new OciLayoutSource(resolve(dir), input, entries)
  }

  /**
   * The image to push: the only entry of index.json, or the one whose
   * `org.opencontainers.image.ref.name` (or digest) is `ref`.
   */
  select(ref?: string, refInput = 'oci-layout-ref'): Descriptor {
    const names = this.entries.map((d) => d.annotations?.[REF_NAME] ?? d.digest)
    if (ref) {
      const found = this.entries.filter(
        (d) => d.annotations?.[REF_NAME] === ref || d.digest === ref
      )
      if (found.length === 1) return found[0]
      throw new ConfigurationError(
        `input \`${refInput}\` = \`${ref}\`: ${found.length === 0 ? 'not' : 'more than once'} in ${this.dir}/index.json; it lists ${names.join(', ')}`,
        refInput
      )
    }
    if (this.entries.length === 1) return this.entries[0]
    throw new ConfigurationError(
      `input \`${this.input}\` = \`${this.dir}\`: index.json lists ${this.entries.length} images (${names.join(', ')}); choose one with \`${refInput}\``,
      refInput
    )
  }

  private blobPath(digest: string): string {
    if (!DIGEST.test(digest))
      this.bad(`a descriptor names digest \`${digest}\`; only sha256:<64 hex> is accepted`)
    return join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length))
  }

  private sizeOf(digest: string): number {
    try {
      const st = statSync(this.blobPath(digest))
      if (!st.isFile()) this.bad(`blob ${digest} is not a regular file`)
      return st.size
    } catch (e) {
      if (e instanceof ConfigurationError) throw e
      return this.bad(`blob ${digest} is missing from blobs/sha256/`)
    }
  }

  async getManifest(reference: string): Promise<Manifest> {
    const entry = this.entries.find((d) => d.annotations?.[REF_NAME] === reference)
    const digest = entry?.digest ?? reference
    this.sizeOf(digest)
    const bytes = readFileSync(this.blobPath(digest))
    if (sha256Digest(bytes) !== digest)
      this.bad(`manifest ${digest} hashes to ${sha256Digest(bytes)}: the layout is corrupt`)
    let declared: unknown
    try {
      declared = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType
    } catch {
      this.bad(`manifest ${digest} is not JSON`)
    }
    const mediaType = this.mediaTypes.get(digest) ?? (typeof declared === 'string' ? declared : '')
    if (!isManifestType(mediaType)) this.bad(`manifest ${digest} has media type \`${mediaType}\``)
    if (typeof declared === 'string' && declared !== mediaType)
      this.bad(`manifest ${digest} says it is \`${declared}\` but is listed as \`${mediaType}\``)
    return { bytes, mediaType, digest }
  }

  /** The blob from disk, after its size and sha256 were checked against the descriptor. */
  async openBlob(blob: Descriptor): Promise<ReadableStream<Uint8Array>> {
    await this.checkBlob(blob)
    return Readable.toWeb(
      createReadStream(this.blobPath(blob.digest))
    ) as ReadableStream<Uint8Array>
  }

  private async checkBlob(blob: Descriptor): Promise<void> {
    if (this.checked.has(`${blob.digest}/${blob.size}`)) return
    const size = this.sizeOf(blob.digest)
    if (size !== blob.size)
      this.bad(`blob ${blob.digest} has ${size} bytes, its descriptor says ${blob.size}`)
    const actual = await hashFile(this.blobPath(blob.digest))
    if (actual !== blob.digest)
      this.bad(`blob ${blob.digest} hashes to ${actual}: the layout is corrupt`)
    this.checked.add(`${blob.digest}/${blob.size}`)
  }

  /**
   * Walks the image from `top` and checks every manifest and blob it needs (present, size,
   * sha256) before anything is sent, so a corrupt layout pushes nothing.
   */
  async check(top: Descriptor): Promise<LayoutCheck> {
    const check: LayoutCheck = { manifests: 0, blobs: 0, bytes: 0, skipped: 0 }
    const seen = new Set<string>()
    const walk = async (d: Descriptor, depth: number): Promise<void> => {
      if (seen.has(d.digest)) return
      seen.add(d.digest)
      if (depth > 3) this.bad(`manifest ${d.digest} nests indexes too deep`)
      this.mediaTypes.set(d.digest, d.mediaType)
      const manifest = await this.getManifest(d.digest)
      if (manifest.bytes.length !== d.size)
        this.bad(
          `manifest ${d.digest} has ${manifest.bytes.length} bytes, its descriptor says ${d.size}`
        )
      check.manifests++
      const doc = JSON.parse(manifest.bytes.toString('utf8')) as {
        manifests?: Descriptor[]
        config?: Descriptor
        layers?: Descriptor[]
      }
      if (isIndex(manifest.mediaType)) {
        for (const child of doc.manifests ?? []) await walk(child, depth + 1)
        return
      }
      if (!doc.config) this.bad(`manifest ${d.digest} has no config`)
      const pending: Descriptor[] = []
      for (const blob of [doc.config, ...(doc.layers ?? [])]) {
        if (seen.has(blob.digest)) continue
        seen.add(blob.digest)
        if (isLeftAtUrls(blob)) check.skipped++
        else pending.push(blob)
      }
      // A few hashes at a time: the disk and the cores overlap, as the uploads do later.
      const worker = async (): Promise<void> => {
        for (let blob = pending.shift(); blob; blob = pending.shift()) {
          await this.checkBlob(blob)
          check.blobs++
          check.bytes += blob.size
        }
      }
      await Promise.all(Array.from({ length: Math.min(4, pending.length) }, worker))
    }
    await walk(top, 0)
    return check
  }
}
