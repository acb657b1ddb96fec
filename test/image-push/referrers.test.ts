import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Lab } from '../../lab/lab.js'
import {
  startReferrersRegistry,
  startRegistry,
  type Registry
} from '../../lab/services/registry.js'
import { MANIFEST_ACCEPT, MEDIA } from '../../src/image/media-types.js'
import { promoteImage } from '../../src/image/promote.js'
import { mergeFallbackIndex, referrerTagsFor } from '../../src/image/referrers.js'
import { RegistryClient } from '../../src/image/registry-client.js'
import { crane, craneLogin } from './crane.js'
import { fetchRaw, pushArtifact, pushImage, pushManifest } from './upload.js'

const hex = 'ab'.repeat(32)
const d = `sha256:${hex}`

describe('referrerTagsFor', () => {
  it.each([
    [[`sha256-${hex}.sig`, `sha256-${hex}.att`, `sha256-${hex}.sbom`], 3],
    [[`sha256-${hex}`], 1],
    [[`sha256-${hex}.`, `sha256-${hex}x`, `sha256-${'cd'.repeat(32)}.sig`, 'latest', hex], 0]
  ])('%j: %i referrer tag(s)', (tags, count) => {
    expect(referrerTagsFor(d, tags)).toHaveLength(count)
  })

  it('merges a fallback index without duplicates, existing entries first', () => {
    const a = { mediaType: MEDIA.ociManifest, digest: `sha256:${'1'.repeat(64)}`, size: 1 }
    const b = { ...a, digest: `sha256:${'2'.repeat(64)}` }
    expect(mergeFallbackIndex([a], [b, a, b])).toEqual([a, b])
  })
})

describe('promotion copies signatures, SBOMs and attestations (real registries)', () => {
  let lab: Lab
  let staging: Registry
  let production: Registry
  let withApi: Registry
  const prod = (): RegistryClient => new RegistryClient(production.host, production.credentials)

  beforeAll(async () => {
    lab = Lab.create()
    staging = await startRegistry(lab, 'staging')
    production = await startRegistry(lab, 'production', { auth: true })
    withApi = await startReferrersRegistry(lab)
    const { username, password } = production.credentials!
    craneLogin(lab.dir, production.host, username, password)
  })
  afterAll(() => lab.stop())

  it('copies cosign .sig/.att tags and the referrers-fallback tag, and nothing about other digests', async () => {
    const image = await pushImage(staging, 'team/signed', 'candidate', {
      layers: 1,
      layerBytes: 2000,
      oci: true
    })
    const other = await pushImage(staging, 'team/signed', 'other', {
      layers: 1,
      layerBytes: 10,
      oci: true
    })
    const tag = image.digest.replace(':', '-')
    const sig = await pushArtifact(staging, 'team/signed', `${tag}.sig`, image, {
      layerType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      withSubject: false
    })
    const att = await pushArtifact(staging, 'team/signed', `${tag}.att`, image, {
      layerType: 'application/vnd.dsse.envelope.v1+json',
      artifactType: 'application/vnd.dsse.envelope.v1+json',
      withSubject: false
    })
    await pushArtifact(staging, 'team/signed', `${other.digest.replace(':', '-')}.sig`, other, {
      layerType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      withSubject: false
    })
    // What oras/cosign 2 write on a registry without the referrers API: the artifact by digest
    // with `subject`, and the fallback tag listing it.
    const sbom = await pushArtifact(staging, 'team/signed', undefined, image, {
      layerType: 'application/spdx+json',
      artifactType: 'application/spdx+json',
      withSubject: true
    })
    await pushManifest(
      staging,
      'team/signed',
      tag,
      {
        schemaVersion: 2,
        mediaType: MEDIA.ociIndex,
        manifests: [
          {
            mediaType: sbom.mediaType,
            digest: sbom.digest,
            size: sbom.size,
            artifactType: sbom.artifactType
          }
        ]
      },
      MEDIA.ociIndex
    )

    const result = await promoteImage(
      {
        client: new RegistryClient(staging.host),
        repository: 'team/signed',
        reference: image.digest
      },
      { client: prod(), repository: 'prod/signed' },
      ['1.0.0']
    )
    expect(result.referrers.map((r) => [r.kind, r.reference]).sort()).toEqual(
      [
        ['tag', tag],
        ['tag', `${tag}.att`],
        ['tag', `${tag}.sig`]
      ].sort()
    )
    // Cross-check with crane: the same tags, each at the source's digest, and the SBOM by digest.
    const listed = crane('ls', `${production.host}/prod/signed`).split('\n').sort()
    expect(listed).toEqual(['1.0.0', tag, `${tag}.att`, `${tag}.sig`].sort())
    expect(crane('digest', `${production.host}/prod/signed:${tag}.sig`)).toBe(sig.digest)
    expect(crane('digest', `${production.host}/prod/signed:${tag}.att`)).toBe(att.digest)
    expect(crane('digest', `${production.host}/prod/signed:1.0.0`)).toBe(image.digest)
    expect(crane('digest', `${production.host}/prod/signed@${sbom.digest}`)).toBe(sbom.digest)
  })

  it('copies OCI 1.1 referrers found through the referrers API, listing them in the fallback tag of a target without it', async () => {
    const image = await pushImage(withApi, 'team/app', 'candidate', {
      layers: 1,
      layerBytes: 1000,
      oci: true
    })
    const sbom = await pushArtifact(withApi, 'team/app', undefined, image, {
      layerType: 'application/spdx+json',
      artifactType: 'application/spdx+json',
      withSubject: true
    })
    // The source registry really has the API and lists the SBOM.
    const api = await fetchRaw(withApi, `/v2/team/app/referrers/${image.digest}`)
    expect(
      JSON.parse(api.bytes.toString()).manifests.map((m: { digest: string }) => m.digest)
    ).toEqual([sbom.digest])

    const result = await promoteImage(
      { client: new RegistryClient(withApi.host), repository: 'team/app', reference: image.digest },
      { client: prod(), repository: 'prod/app' },
      ['1']
    )
    expect(result.referrers).toEqual([
      expect.objectContaining({ kind: 'subject', digest: sbom.digest, subject: image.digest })
    ])
    expect(crane('digest', `${production.host}/prod/app@${sbom.digest}`)).toBe(sbom.digest)
    const fallback = JSON.parse(
      crane('manifest', `${production.host}/prod/app:${image.digest.replace(':', '-')}`)
    )
    expect(fallback.manifests).toEqual([
      expect.objectContaining({
        digest: sbom.digest,
        mediaType: MEDIA.ociManifest,
        artifactType: 'application/spdx+json'
      })
    ])
    // Promoting again adds nothing twice to the fallback index.
    await promoteImage(
      { client: new RegistryClient(withApi.host), repository: 'team/app', reference: image.digest },
      { client: prod(), repository: 'prod/app' },
      ['1']
    )
    const again = await fetchRaw(
      production,
      `/v2/prod/app/manifests/${image.digest.replace(':', '-')}`,
      MANIFEST_ACCEPT
    )
    expect(JSON.parse(again.bytes.toString()).manifests).toHaveLength(1)
  })

  it('between two registries with the API, the target lists the referrer for the promoted digest', async () => {
    const image = await pushImage(withApi, 'team/api', 'candidate', {
      layers: 1,
      layerBytes: 500,
      oci: true
    })
    const sig = await pushArtifact(withApi, 'team/api', undefined, image, {
      layerType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      withSubject: true
    })
    const client = new RegistryClient(withApi.host)
    await promoteImage(
      { client, repository: 'team/api', reference: image.digest },
      { client, repository: 'release/api' },
      ['2']
    )
    const listed = await fetchRaw(withApi, `/v2/release/api/referrers/${image.digest}`)
    expect(
      JSON.parse(listed.bytes.toString()).manifests.map((m: { digest: string }) => m.digest)
    ).toEqual([sig.digest])
  })

  // A re-promotion (a re-run, a hotfix re-signed in staging) meets what the target already holds
  // about the digest: an SBOM or signature attached in production itself (notation, cosign 2 on a
  // registry without the referrers API) must survive it.
  describe('what the target already holds about the digest is kept', () => {
    const fromStaging = (repository: string, reference: string) => ({
      client: new RegistryClient(staging.host),
      repository,
      reference
    })
    const sigType = {
      layerType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      withSubject: false
    }
    const listIn = (
      subject: string,
      entries: { digest: string; size: number; mediaType: string; artifactType?: string }[]
    ) => ({
      schemaVersion: 2,
      mediaType: MEDIA.ociIndex,
      manifests: entries.map((e) => ({
        mediaType: e.mediaType,
        digest: e.digest,
        size: e.size,
        artifactType: e.artifactType
      })),
      annotations: { subject }
    })
    const target = {
      url: '',
      credentials: undefined as { username: string; password: string } | undefined
    }
    beforeAll(() => {
      target.url = production.url
      target.credentials = production.credentials
    })

    it('the referrers-fallback tag is merged, not overwritten', async () => {
      const image = await pushImage(staging, 'team/merge', 'candidate', {
        layers: 1,
        layerBytes: 50,
        oci: true
      })
      const tag = image.digest.replace(':', '-')
      await promoteImage(
        fromStaging('team/merge', image.digest),
        { client: prod(), repository: 'prod/merge' },
        ['1']
      )
      // Production attaches its own attestation, listed in its fallback tag.
      const prodAtt = await pushArtifact(target, 'prod/merge', undefined, image, {
        layerType: 'application/vnd.in-toto+json',
        artifactType: 'application/vnd.in-toto+json',
        withSubject: true
      })
      await pushManifest(target, 'prod/merge', tag, listIn(image.digest, [prodAtt]), MEDIA.ociIndex)
      // Staging attaches an SBOM, and the image is promoted again.
      const sbom = await pushArtifact(staging, 'team/merge', undefined, image, {
        layerType: 'application/spdx+json',
        artifactType: 'application/spdx+json',
        withSubject: true
      })
      await pushManifest(staging, 'team/merge', tag, listIn(image.digest, [sbom]), MEDIA.ociIndex)
      await promoteImage(
        fromStaging('team/merge', image.digest),
        { client: prod(), repository: 'prod/merge' },
        ['1']
      )
      const fallback = JSON.parse(crane('manifest', `${production.host}/prod/merge:${tag}`)) as {
        manifests: { digest: string }[]
      }
      expect(fallback.manifests.map((m) => m.digest).sort()).toEqual(
        [prodAtt.digest, sbom.digest].sort()
      )
    })

    it('a cosign tag holding signatures the source lacks is kept; diverged ones refuse the promotion', async () => {
      const image = await pushImage(staging, 'team/cosign', 'candidate', {
        layers: 1,
        layerBytes: 50,
        oci: true
      })
      const tag = `${image.digest.replace(':', '-')}.sig`
      const stagingSig = await pushArtifact(staging, 'team/cosign', tag, image, sigType)
      await promoteImage(
        fromStaging('team/cosign', image.digest),
        { client: prod(), repository: 'prod/cosign' },
        ['1']
      )
      // Production's release key signs too: cosign appends its layer to the .sig manifest.
      const doc = JSON.parse(stagingSig.bytes.toString()) as { layers: { digest: string }[] }
      const extra = await pushArtifact(target, 'prod/cosign', undefined, image, sigType)
      const extraLayers = (JSON.parse(extra.bytes.toString()) as { layers: unknown[] }).layers
      const both = await pushManifest(
        target,
        'prod/cosign',
        tag,
        { ...JSON.parse(stagingSig.bytes.toString()), layers: [...doc.layers, ...extraLayers] },
        MEDIA.ociManifest
      )
      await promoteImage(
        fromStaging('team/cosign', image.digest),
        { client: prod(), repository: 'prod/cosign' },
        ['1', '1.0']
      )
      expect(crane('digest', `${production.host}/prod/cosign:${tag}`)).toBe(both.digest)
      expect(crane('digest', `${production.host}/prod/cosign:1.0`)).toBe(image.digest)
      // Staging re-signs with a new key (replacing its .sig): neither holds the other's signatures.
      await pushArtifact(staging, 'team/cosign', tag, image, sigType)
      await expect(
        promoteImage(
          fromStaging('team/cosign', image.digest),
          { client: prod(), repository: 'prod/cosign' },
          ['1', '1.1']
        )
      ).rejects.toThrow(
        /prod\/cosign:sha256-[0-9a-f]{64}\.sig on the target holds 2 signature\(s\) the source does not have, and the source 1/
      )
      expect(crane('digest', `${production.host}/prod/cosign:${tag}`)).toBe(both.digest)
      expect(
        (await fetchRaw(production, '/v2/prod/cosign/manifests/1.1', MANIFEST_ACCEPT)).status
      ).toBe(404)
    })

    it('an SBOM attached again replaces the promoted one, as `cosign attach sbom` does on its tag', async () => {
      const image = await pushImage(staging, 'team/sbom', 'candidate', {
        layers: 1,
        layerBytes: 50,
        oci: true
      })
      const sbomTag = `${image.digest.replace(':', '-')}.sbom`
      const sbomType = { ...sigType, layerType: 'text/spdx+json', artifactType: 'text/spdx+json' }
      await pushArtifact(staging, 'team/sbom', sbomTag, image, sbomType)
      const promote = () =>
        promoteImage(
          fromStaging('team/sbom', image.digest),
          { client: prod(), repository: 'prod/sbom' },
          ['1']
        )
      await promote()
      const newer = await pushArtifact(staging, 'team/sbom', sbomTag, image, sbomType)
      await promote()
      expect(crane('digest', `${production.host}/prod/sbom:${sbomTag}`)).toBe(newer.digest)
    })
  })

  // Registries may page the referrers list (distribution-spec 1.1: `Link: <…>; rel="next"`).
  // This front before go-containerregistry's registry serves it one referrer per page.
  it('reads every page of a paged referrers list', async () => {
    const front = createServer((req, res) => {
      const url = new URL(req.url!, 'http://front')
      const m = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/.exec(url.pathname)
      if (req.method === 'GET' && m) {
        void fetch(`${withApi.url}${url.pathname}`).then(async (up) => {
          const index = (await up.json()) as { manifests: { digest: string }[] }
          // go-containerregistry lists referrers in map order: sort, so pages do not overlap.
          index.manifests.sort((a, b) => a.digest.localeCompare(b.digest))
          const page = Number(url.searchParams.get('page') ?? 0)
          const more = page + 1 < index.manifests.length
          res.writeHead(200, {
            'content-type': MEDIA.ociIndex,
            ...(more && { link: `<${url.pathname}?page=${page + 1}>; rel="next"` })
          })
          res.end(JSON.stringify({ ...index, manifests: index.manifests.slice(page, page + 1) }))
        })
        return
      }
      const upstream = request(
        `${withApi.url}${req.url}`,
        { method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode!, up.headers)
          up.pipe(res)
        }
      )
      req.pipe(upstream)
    })
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r))
    try {
      const host = `127.0.0.1:${(front.address() as AddressInfo).port}`
      const image = await pushImage(withApi, 'team/paged', 'candidate', {
        layers: 1,
        layerBytes: 100,
        oci: true
      })
      const artifacts = []
      for (const type of [
        'application/spdx+json',
        'application/vnd.in-toto+json',
        'application/vnd.dev.sigstore.bundle.v0.3+json'
      ])
        artifacts.push(
          await pushArtifact(withApi, 'team/paged', undefined, image, {
            layerType: type,
            artifactType: type,
            withSubject: true
          })
        )
      const result = await promoteImage(
        { client: new RegistryClient(host), repository: 'team/paged', reference: image.digest },
        { client: prod(), repository: 'prod/paged' },
        ['1']
      )
      expect(result.referrers.map((r) => r.digest).sort()).toEqual(
        artifacts.map((a) => a.digest).sort()
      )
      const fallback = JSON.parse(
        crane('manifest', `${production.host}/prod/paged:${image.digest.replace(':', '-')}`)
      ) as { manifests: { digest: string }[] }
      expect(fallback.manifests).toHaveLength(3)
    } finally {
      front.closeAllConnections()
      await new Promise((r) => front.close(r))
    }
  })

  it('a signature that cannot be copied fails the promotion before any tag moves', async () => {
    const image = await pushImage(staging, 'team/halfsigned', 'candidate', {
      layers: 1,
      layerBytes: 100,
      oci: true
    })
    const sig = await pushArtifact(
      staging,
      'team/halfsigned',
      `${image.digest.replace(':', '-')}.sig`,
      image,
      {
        layerType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        withSubject: false
      }
    )
    // The signature's layer goes missing from the source (deleted, garbage-collected).
    const doc = JSON.parse(sig.bytes.toString()) as { layers: { digest: string }[] }
    const del = await fetch(`${staging.url}/v2/team/halfsigned/blobs/${doc.layers[0].digest}`, {
      method: 'DELETE'
    })
    expect(del.status).toBe(202)
    await expect(
      promoteImage(
        {
          client: new RegistryClient(staging.host),
          repository: 'team/halfsigned',
          reference: image.digest
        },
        { client: prod(), repository: 'prod/halfsigned' },
        ['1.0.0']
      )
    ).rejects.toThrow(/HTTP 404/)
    expect(
      (await fetchRaw(production, '/v2/prod/halfsigned/manifests/1.0.0', MANIFEST_ACCEPT)).status
    ).toBe(404)
  })

  it('copy-referrers off copies the image only', async () => {
    const image = await pushImage(staging, 'team/plain', 'candidate', {
      layers: 1,
      layerBytes: 100,
      oci: true
    })
    await pushArtifact(staging, 'team/plain', `${image.digest.replace(':', '-')}.sig`, image, {
      layerType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      withSubject: false
    })
    const result = await promoteImage(
      {
        client: new RegistryClient(staging.host),
        repository: 'team/plain',
        reference: image.digest
      },
      { client: prod(), repository: 'prod/plain' },
      ['1'],
      { referrers: false }
    )
    expect(result.referrers).toEqual([])
    expect(crane('ls', `${production.host}/prod/plain`)).toBe('1')
  })
})
