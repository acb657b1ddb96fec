import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Lab } from '../../lab/lab.js'
import {
  startReferrersRegistry,
  startRegistry,
  type Registry
} from '../../lab/services/registry.js'
import { isNonDistributable, MANIFEST_ACCEPT, MEDIA } from '../../src/image/media-types.js'
import { promoteImage } from '../../src/image/promote.js'
import { RegistryClient } from '../../src/image/registry-client.js'
import { crane, craneLogin } from './crane.js'
import { fetchRaw, pushBlob, pushImage, pushIndex, pushManifest, type Target } from './upload.js'

describe('promoteImage against real registries', () => {
  let lab: Lab
  let staging: Registry
  let production: Registry

  beforeAll(async () => {
    lab = Lab.create()
    staging = await startRegistry(lab, 'staging')
    production = await startRegistry(lab, 'production', { auth: true })
  })
  afterAll(() => lab.stop())

  const stagingClient = (): RegistryClient => new RegistryClient(staging.host)
  const prodClient = (): RegistryClient =>
    new RegistryClient(production.host, production.credentials)

  it('copies an image to another repository on the same registry by mounting its blobs', async () => {
    const image = await pushImage(staging, 'team/app', 'candidate', {
      layers: 3,
      layerBytes: 50_000
    })
    const client = stagingClient()
    const result = await promoteImage(
      { client, repository: 'team/app', reference: image.digest },
      { client, repository: 'release/app' },
      ['1.2.3', '1.2']
    )
    expect(result.digest).toBe(image.digest)
    expect(result.blobs).toMatchObject({ mounted: 4, copied: 0, present: 0 })
    for (const tag of ['1.2.3', '1.2']) {
      const stored = await fetchRaw(staging, `/v2/release/app/manifests/${tag}`, MANIFEST_ACCEPT)
      expect(stored.bytes.equals(image.bytes)).toBe(true)
    }
    for (const blob of image.blobs) {
      expect((await fetchRaw(staging, `/v2/release/app/blobs/${blob.digest}`)).digest).toBe(
        blob.digest
      )
    }
  })

  it('copies a multi-arch index across registries (Basic auth), every child and blob byte for byte', async () => {
    const index = await pushIndex(staging, 'team/multi', 'candidate', 200_000)
    const result = await promoteImage(
      { client: stagingClient(), repository: 'team/multi', reference: index.digest },
      { client: prodClient(), repository: 'prod/multi' },
      ['2.0.0']
    )
    expect(result).toMatchObject({
      digest: index.digest,
      manifests: 3,
      blobs: { mounted: 0, copied: 6, present: 0, bytesCopied: expect.any(Number) }
    })
    const prod: Target = production
    const { username, password } = production.credentials!
    craneLogin(lab.dir, production.host, username, password)
    expect(crane('digest', `${production.host}/prod/multi:2.0.0`)).toBe(index.digest)
    const top = await fetchRaw(prod, '/v2/prod/multi/manifests/2.0.0', MANIFEST_ACCEPT)
    expect(top.bytes.equals(index.bytes)).toBe(true)
    for (const child of index.children) {
      const stored = await fetchRaw(
        prod,
        `/v2/prod/multi/manifests/${child.digest}`,
        MANIFEST_ACCEPT
      )
      expect(stored.bytes.equals(child.bytes)).toBe(true)
      for (const blob of child.blobs) {
        const source = await fetchRaw(staging, `/v2/team/multi/blobs/${blob.digest}`)
        const copied = await fetchRaw(prod, `/v2/prod/multi/blobs/${blob.digest}`)
        expect(copied.bytes.equals(source.bytes)).toBe(true)
      }
    }
  })

  it('a second promotion of the same digest moves no blob', async () => {
    const image = await pushImage(staging, 'team/again', 'candidate', {
      layers: 1,
      layerBytes: 10_000
    })
    const source = { client: stagingClient(), repository: 'team/again', reference: image.digest }
    await promoteImage(source, { client: prodClient(), repository: 'prod/again' }, ['1'])
    const second = await promoteImage(source, { client: prodClient(), repository: 'prod/again' }, [
      '1',
      'latest'
    ])
    expect(second.blobs).toMatchObject({ copied: 0, present: 2 })
  })

  it.each([
    ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', true],
    ['application/vnd.oci.image.layer.nondistributable.v1.tar+zstd', true],
    ['application/vnd.oci.image.layer.nondistributable.v1.tar', true],
    ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', true],
    ['application/vnd.oci.image.layer.v1.tar+gzip', false],
    ['application/vnd.docker.image.rootfs.diff.tar.gzip', false]
  ])('%s is non-distributable: %s', (mediaType, expected) => {
    expect(isNonDistributable(mediaType)).toBe(expected)
  })

  it('leaves non-distributable layers at their URLs (the source does not have them) and copies the rest', async () => {
    const config = await pushBlob(
      staging,
      'team/win',
      Buffer.from('{"os":"windows"}'),
      'application/vnd.oci.image.config.v1+json'
    )
    const layer = await pushBlob(
      staging,
      'team/win',
      Buffer.from('app layer'),
      'application/vnd.oci.image.layer.v1.tar+gzip'
    )
    const foreign = {
      mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
      digest: `sha256:${'f'.repeat(64)}`,
      size: 1234,
      urls: ['https://mcr.microsoft.com/v2/windows/base/blobs/sha256:' + 'f'.repeat(64)]
    }
    const image = await pushManifest(
      staging,
      'team/win',
      'candidate',
      { schemaVersion: 2, mediaType: MEDIA.ociManifest, config, layers: [foreign, layer] },
      MEDIA.ociManifest
    )
    const result = await promoteImage(
      { client: stagingClient(), repository: 'team/win', reference: image.digest },
      { client: prodClient(), repository: 'prod/win' },
      ['1']
    )
    expect(result.blobs).toMatchObject({ copied: 2, skipped: 1 })
    const { username, password } = production.credentials!
    craneLogin(lab.dir, production.host, username, password)
    expect(crane('digest', `${production.host}/prod/win:1`)).toBe(image.digest)
  })

  // A non-distributable layer without `urls` lives nowhere but in the registry that holds it
  // (pushed with --allow-nondistributable-artifacts, or by tools that ignore the type). It must be
  // copied: left behind, the promoted image names a blob its registry does not have.
  it('copies a non-distributable layer that has no URLs (go-containerregistry registry)', async () => {
    const ggcr = await startReferrersRegistry(lab, 'ggcr-nondist')
    const config = await pushBlob(
      ggcr,
      'team/win',
      Buffer.from('{"os":"windows"}'),
      'application/vnd.oci.image.config.v1+json'
    )
    const base = await pushBlob(
      ggcr,
      'team/win',
      Buffer.from('windows base layer'),
      'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'
    )
    const image = await pushManifest(
      ggcr,
      'team/win',
      'candidate',
      { schemaVersion: 2, mediaType: MEDIA.ociManifest, config, layers: [base] },
      MEDIA.ociManifest
    )
    const client = new RegistryClient(ggcr.host)
    const other = await startReferrersRegistry(lab, 'ggcr-nondist-target')
    const result = await promoteImage(
      { client, repository: 'team/win', reference: image.digest },
      { client: new RegistryClient(other.host), repository: 'prod/win' },
      ['1']
    )
    expect(result.blobs).toMatchObject({ copied: 2, skipped: 0 })
    const head = await fetch(`${other.url}/v2/prod/win/blobs/${base.digest}`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(crane('digest', `${other.host}/prod/win:1`)).toBe(image.digest)
  })

  it('fails clearly with wrong credentials, and never shows the password', async () => {
    const image = await pushImage(staging, 'team/denied', 'candidate', {
      layers: 1,
      layerBytes: 1000
    })
    const wrong = new RegistryClient(production.host, {
      username: 'ci',
      password: 'not-the-password'
    })
    const attempt = promoteImage(
      { client: stagingClient(), repository: 'team/denied', reference: image.digest },
      { client: wrong, repository: 'prod/denied' },
      ['1']
    )
    await expect(attempt).rejects.toThrow(/HTTP 401 \(check the registry credentials\)/)
    await expect(attempt).rejects.not.toThrow(/not-the-password/)
  })

  it('refuses a digest the source does not have', async () => {
    const missing = `sha256:${'0'.repeat(64)}`
    await expect(
      promoteImage(
        { client: stagingClient(), repository: 'team/app', reference: missing },
        { client: prodClient(), repository: 'prod/app' },
        ['1']
      )
    ).rejects.toThrow(/HTTP 404/)
  })
})
