import { createHash, randomBytes } from 'node:crypto'
import { MEDIA, type Descriptor } from '../../src/image/media-types.js'

/** Pushes test images with plain fetch, independently of the client under test. */
export interface Target {
  url: string
  credentials?: { username: string; password: string }
}

const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

function headers(t: Target, extra: Record<string, string> = {}): Record<string, string> {
  if (!t.credentials) return extra
  const { username, password } = t.credentials
  return {
    authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
    ...extra
  }
}

async function expectStatus(res: Response, status: number, what: string): Promise<Response> {
  if (res.status !== status) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`)
  return res
}

export async function pushBlob(
  t: Target,
  repo: string,
  bytes: Buffer,
  mediaType: string
): Promise<Descriptor> {
  const start = await expectStatus(
    await fetch(`${t.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: headers(t) }),
    202,
    'start upload'
  )
  const location = new URL(start.headers.get('location')!, t.url)
  location.searchParams.set('digest', digestOf(bytes))
  await expectStatus(
    await fetch(location, {
      method: 'PUT',
      headers: headers(t, { 'content-type': 'application/octet-stream' }),
      body: bytes
    }),
    201,
    'put blob'
  )
  return { mediaType, digest: digestOf(bytes), size: bytes.length }
}

export async function pushManifest(
  t: Target,
  repo: string,
  ref: string,
  doc: object,
  mediaType: string
) {
  const bytes = Buffer.from(JSON.stringify(doc, null, 3))
  await expectStatus(
    await fetch(`${t.url}/v2/${repo}/manifests/${ref}`, {
      method: 'PUT',
      headers: headers(t, { 'content-type': mediaType }),
      body: bytes
    }),
    201,
    'put manifest'
  )
  return { digest: digestOf(bytes), bytes, mediaType, size: bytes.length }
}

/** An image of random layers and a config, as a Docker v2 or an OCI manifest. */
export async function pushImage(
  t: Target,
  repo: string,
  ref: string,
  options: { layers: number; layerBytes: number; arch?: string; oci?: boolean }
) {
  const config = Buffer.from(
    JSON.stringify({
      architecture: options.arch ?? 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
      nonce: randomBytes(8).toString('hex')
    })
  )
  const layerType = options.oci
    ? 'application/vnd.oci.image.layer.v1.tar+gzip'
    : 'application/vnd.docker.image.rootfs.diff.tar.gzip'
  const layers: Descriptor[] = []
  for (let i = 0; i < options.layers; i++)
    layers.push(await pushBlob(t, repo, randomBytes(options.layerBytes), layerType))
  const configType = options.oci
    ? 'application/vnd.oci.image.config.v1+json'
    : 'application/vnd.docker.container.image.v1+json'
  const mediaType = options.oci ? MEDIA.ociManifest : MEDIA.dockerManifest
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: await pushBlob(t, repo, config, configType),
    layers
  }
  return {
    ...(await pushManifest(t, repo, ref, manifest, mediaType)),
    blobs: [manifest.config, ...layers]
  }
}

/** A multi-arch OCI index over two images (amd64, arm64). */
export async function pushIndex(t: Target, repo: string, tag: string, layerBytes: number) {
  const amd64 = await pushImage(t, repo, 'amd64', {
    layers: 2,
    layerBytes,
    arch: 'amd64',
    oci: true
  })
  const arm64 = await pushImage(t, repo, 'arm64', {
    layers: 2,
    layerBytes,
    arch: 'arm64',
    oci: true
  })
  const entry = (m: typeof amd64, architecture: string) => ({
    mediaType: m.mediaType,
    digest: m.digest,
    size: m.size,
    platform: { architecture, os: 'linux' }
  })
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.ociIndex,
    manifests: [entry(amd64, 'amd64'), entry(arm64, 'arm64')]
  }
  return { ...(await pushManifest(t, repo, tag, index, MEDIA.ociIndex)), children: [amd64, arm64] }
}

/** Raw bytes of a manifest or blob as the registry serves it. */
export async function fetchRaw(
  t: Target,
  path: string,
  accept?: string
): Promise<{ status: number; bytes: Buffer; digest: string | null }> {
  const res = await fetch(`${t.url}${path}`, { headers: headers(t, accept ? { accept } : {}) })
  const bytes = Buffer.from(await res.arrayBuffer())
  return { status: res.status, bytes, digest: res.headers.get('docker-content-digest') }
}

/**
 * An artifact about `subject` the way cosign and oras store them: an OCI manifest with one
 * layer (a signature, an SBOM, an attestation), `artifactType` and, when `withSubject`, the
 * OCI 1.1 `subject` field that registries with the referrers API index.
 */
export async function pushArtifact(
  t: Target,
  repo: string,
  ref: string | undefined,
  subject: { digest: string; size: number; mediaType: string },
  options: { layerType: string; artifactType: string; withSubject: boolean }
) {
  const empty = await pushBlob(t, repo, Buffer.from('{}'), 'application/vnd.oci.empty.v1+json')
  const layer = await pushBlob(t, repo, randomBytes(300), options.layerType)
  const doc = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    artifactType: options.artifactType,
    config: empty,
    layers: [layer],
    ...(options.withSubject && {
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size }
    }),
    annotations: { 'org.opencontainers.image.created': '2025-01-01T00:00:00Z' }
  }
  // pushManifest's own serialisation, so a push by digest names the bytes it sends.
  const reference = ref ?? digestOf(Buffer.from(JSON.stringify(doc, null, 3)))
  const stored = await pushManifest(t, repo, reference, doc, MEDIA.ociManifest)
  return { ...stored, artifactType: options.artifactType }
}
