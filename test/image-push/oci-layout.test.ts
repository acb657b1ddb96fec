import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Lab } from '../../lab/lab.js'
import { startRegistry, type Registry } from '../../lab/services/registry.js'
import { ConfigurationError } from '../../src/core/errors.js'
import { MANIFEST_ACCEPT, MEDIA } from '../../src/image/media-types.js'
import { OciLayoutSource } from '../../src/image/oci-layout.js'
import { copyImage } from '../../src/image/promote.js'
import { RegistryClient } from '../../src/image/registry-client.js'
import { crane, craneLogin, layerTar } from './crane.js'
import { fetchRaw, pushIndex } from './upload.js'

const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

/** A layout written by hand (for what no tool writes: several images, corrupt or hostile entries). */
function writeLayout(dir: string, images: { ref?: string; layer: Buffer }[]): string[] {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true })
  const put = (bytes: Buffer): string => {
    const d = digestOf(bytes)
    writeFileSync(join(dir, 'blobs', 'sha256', d.slice(7)), bytes)
    return d
  }
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  const entries = images.map(({ ref, layer }) => {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: {} }))
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: put(config),
          size: config.length
        },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
            digest: put(layer),
            size: layer.length
          }
        ]
      })
    )
    return {
      mediaType: MEDIA.ociManifest,
      digest: put(manifest),
      size: manifest.length,
      ...(ref && { annotations: { 'org.opencontainers.image.ref.name': ref } })
    }
  })
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: entries }))
  return entries.map((e) => e.digest)
}

describe('pushing an OCI image layout to a real registry', () => {
  let lab: Lab
  let staging: Registry
  let production: Registry
  const prod = (): RegistryClient => new RegistryClient(production.host, production.credentials)

  beforeAll(async () => {
    lab = Lab.create()
    staging = await startRegistry(lab, 'staging')
    production = await startRegistry(lab, 'production', { auth: true })
  })
  afterAll(() => lab.stop())

  it('pushes a layout written by crane: same digest by crane, image valid by crane validate', async () => {
    const tar = layerTar(lab.dir, 'app', { 'app/server.js': 'console.log(1)\n', 'etc/motd': 'hi' })
    crane('append', '-f', tar, '-t', `${staging.host}/team/built:1`)
    const built = crane('digest', `${staging.host}/team/built:1`)
    const dir = lab.path('layout-crane')
    crane('pull', '--format=oci', `${staging.host}/team/built@${built}`, dir)

    const layout = OciLayoutSource.open(dir)
    const top = layout.select()
    expect(top.digest).toBe(built)
    expect(await layout.check(top)).toMatchObject({ manifests: 1, blobs: 2 })
    const result = await copyImage(
      layout,
      top.digest,
      { client: prod(), repository: 'prod/built' },
      ['1.0.0']
    )
    expect(result).toMatchObject({ digest: built, blobs: { copied: 2, present: 0 } })

    const stored = await fetchRaw(production, '/v2/prod/built/manifests/1.0.0', MANIFEST_ACCEPT)
    expect(stored.digest).toBe(built)
    const { username, password } = production.credentials!
    craneLogin(lab.dir, production.host, username, password)
    expect(crane('digest', `${production.host}/prod/built:1.0.0`)).toBe(result.digest)
    expect(crane('validate', '--remote', `${production.host}/prod/built:1.0.0`)).toMatch(/PASS/)
  })

  it('pushes a multi-arch index from a layout and sends nothing the registry already has', async () => {
    const index = await pushIndex(staging, 'team/multi', 'candidate', 50_000)
    const dir = lab.path('layout-multi')
    crane('pull', '--format=oci', `${staging.host}/team/multi@${index.digest}`, dir)
    const layout = OciLayoutSource.open(dir)
    const top = layout.select()
    expect(top).toMatchObject({ digest: index.digest, mediaType: MEDIA.ociIndex })
    const target = { client: prod(), repository: 'prod/multi' }
    const first = await copyImage(layout, top.digest, target, ['2.0.0'])
    expect(first).toMatchObject({ manifests: 3, blobs: { copied: 6, present: 0 } })
    const second = await copyImage(layout, top.digest, target, ['2'])
    expect(second.blobs).toMatchObject({ copied: 0, present: 6 })
    for (const child of index.children) {
      const stored = await fetchRaw(
        production,
        `/v2/prod/multi/manifests/${child.digest}`,
        MANIFEST_ACCEPT
      )
      expect(stored.bytes.equals(child.bytes)).toBe(true)
    }
  })

  it('a corrupt blob fails the check before anything is pushed', async () => {
    const dir = lab.path('layout-corrupt')
    writeLayout(dir, [{ layer: randomBytes(5000) }])
    const layout = OciLayoutSource.open(dir)
    const top = layout.select()
    // Flip one byte of the layer (the largest blob): same size, other hash.
    const blobs = join(dir, 'blobs', 'sha256')
    const layer = readdirSync(blobs)
      .map((f) => join(blobs, f))
      .sort((a, b) => readFileSync(b).length - readFileSync(a).length)[0]
    const bytes = readFileSync(layer)
    bytes[100] ^= 0xff
    writeFileSync(layer, bytes)
    await expect(layout.check(top)).rejects.toThrow(
      /hashes to sha256:[0-9a-f]{64}: the layout is corrupt/
    )
    // Without the pre-check, copyImage itself refuses the blob before its upload starts.
    await expect(
      copyImage(
        layout,
        top.digest,
        { client: new RegistryClient(staging.host), repository: 'x/corrupt' },
        ['1']
      )
    ).rejects.toThrow(ConfigurationError)
    const res = await fetch(`${staging.url}/v2/x/corrupt/manifests/1`, { method: 'HEAD' })
    expect(res.status).toBe(404)
  })

  it('chooses among several images by ref name, and says which exist when none is chosen', async () => {
    const dir = lab.path('layout-two')
    const [api, web] = writeLayout(dir, [
      { ref: 'api', layer: randomBytes(100) },
      { ref: 'web', layer: randomBytes(100) }
    ])
    const layout = OciLayoutSource.open(dir)
    expect(layout.select('web').digest).toBe(web)
    expect(layout.select(api).digest).toBe(api)
    expect(() => layout.select()).toThrow(
      /lists 2 images \(api, web\); choose one with `oci-layout-ref`/
    )
    expect(() => layout.select('db')).toThrow(/`oci-layout-ref` = `db`: not in .*it lists api, web/)
  })

  it.each([
    [
      'no oci-layout file',
      (d: string) => writeFileSync(join(d, 'oci-layout'), 'x'),
      /oci-layout is not a JSON object/
    ],
    [
      'a newer layout version',
      (d: string) => writeFileSync(join(d, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}'),
      /imageLayoutVersion "2.0.0", expected "1.0.0"/
    ],
    [
      'a digest that names a path',
      (d: string) =>
        writeFileSync(
          join(d, 'index.json'),
          JSON.stringify({
            manifests: [
              { mediaType: MEDIA.ociManifest, digest: 'sha256:../../../etc/passwd', size: 1 }
            ]
          })
        ),
      /only sha256:<64 hex> is accepted/
    ],
    [
      'a non-image entry',
      (d: string) =>
        writeFileSync(
          join(d, 'index.json'),
          JSON.stringify({
            manifests: [{ mediaType: 'text/plain', digest: `sha256:${'a'.repeat(64)}`, size: 1 }]
          })
        ),
      /not an image manifest or index/
    ],
    [
      'an empty index',
      (d: string) => writeFileSync(join(d, 'index.json'), '{"manifests":[]}'),
      /lists no image/
    ]
  ])('rejects a layout with %s, naming the input', (_name, spoil, message) => {
    const dir = lab.path(`layout-bad-${randomBytes(4).toString('hex')}`)
    writeLayout(dir, [{ layer: randomBytes(10) }])
    spoil(dir)
    expect(() => OciLayoutSource.open(dir)).toThrow(message)
    expect(() => OciLayoutSource.open(dir)).toThrow(/input `oci-layout` = /)
  })

  it('a missing blob is named', async () => {
    const dir = lab.path('layout-missing')
    writeLayout(dir, [{ layer: Buffer.from('layer') }])
    const layer = join(dir, 'blobs', 'sha256', digestOf(Buffer.from('layer')).slice(7))
    writeFileSync(layer, '')
    const layout = OciLayoutSource.open(dir)
    await expect(layout.check(layout.select())).rejects.toThrow(
      /has 0 bytes, its descriptor says 5/
    )
  })
})
