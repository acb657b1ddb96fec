import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Lab } from '../../lab/lab.js'
import { runAction } from '../../lab/runner.js'
import { startRegistry, type Registry } from '../../lab/services/registry.js'
import { MANIFEST_ACCEPT } from '../../src/image/media-types.js'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { MEDIA } from '../../src/image/media-types.js'
import { crane, craneLogin } from './crane.js'
import { fetchRaw, pushArtifact, pushImage, pushIndex } from './upload.js'

describe('image-push bundle, promote mode, against real registries', () => {
  let lab: Lab
  let staging: Registry
  let production: Registry
  beforeAll(async () => {
    lab = Lab.create()
    staging = await startRegistry(lab, 'staging')
    production = await startRegistry(lab, 'production', { auth: true })
  })
  afterAll(() => lab.stop())

  it('promotes a tested multi-arch digest to production with the release tags', async () => {
    const index = await pushIndex(staging, 'team/app', 'staging', 100_000)
    const { username, password } = production.credentials!
    const result = await runAction(
      'image-push',
      {
        mode: 'promote',
        source: `${staging.host}/team/app@${index.digest}`,
        image: `${production.host}/prod/app`,
        tags: 'semver',
        latest: 'true',
        username,
        password
      },
      { env: { GITHUB_REF: 'refs/tags/v3.1.0' } }
    )
    expect(result.exitCode).toBe(0)
    const name = `${production.host}/prod/app`
    expect(result.outputs).toEqual({
      digest: index.digest,
      image: `${name}@${index.digest}`,
      referrers: '',
      tags: ['3.1.0', '3.1', '3', 'latest'].map((t) => `${name}:${t}`).join('\n')
    })
    for (const tag of ['3.1.0', 'latest']) {
      const stored = await fetchRaw(production, `/v2/prod/app/manifests/${tag}`, MANIFEST_ACCEPT)
      expect(stored.bytes.equals(index.bytes)).toBe(true)
    }
    expect(result.summary).toContain('| blobs | 0 mounted, 6 copied')
    expect(result.masks).toContain(password)
    expect(
      result.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n')
    ).not.toContain(password)
  })

  it('retags within one registry by mounting, without moving bytes', async () => {
    const image = await pushImage(staging, 'team/api', 'candidate', {
      layers: 2,
      layerBytes: 20_000
    })
    const result = await runAction('image-push', {
      mode: 'promote',
      source: `${staging.host}/team/api:candidate`,
      image: `${staging.host}/release/api`,
      tags: 'sha'
    })
    expect(result.exitCode).toBe(0)
    expect(result.outputs.digest).toBe(image.digest)
    expect(result.summary).toContain('| blobs | 3 mounted, 0 copied')
  })

  it('pushes an OCI layout written by crane (mode oci-layout), digest checked by crane', async () => {
    const index = await pushIndex(staging, 'team/layout', 'built', 20_000)
    const dir = join(lab.dir, 'layout')
    crane('pull', '--format=oci', `${staging.host}/team/layout@${index.digest}`, dir)
    const { username, password } = production.credentials!
    const result = await runAction(
      'image-push',
      {
        mode: 'oci-layout',
        'oci-layout': dir,
        image: `${production.host}/prod/layout`,
        tags: 'semver',
        username,
        password
      },
      { env: { GITHUB_REF: 'refs/tags/v0.4.0' } }
    )
    expect(result.exitCode).toBe(0)
    const name = `${production.host}/prod/layout`
    expect(result.outputs.digest).toBe(index.digest)
    expect(result.outputs.image).toBe(`${name}@${index.digest}`)
    expect(result.outputs.tags).toContain(`${name}:0.4.0`)
    expect(result.summary).toContain('| layout checked | 3 manifest(s), 6 blob(s)')
    craneLogin(lab.dir, production.host, username, password)
    expect(crane('digest', `${name}:0.4.0`)).toBe(index.digest)
  })

  it('a corrupt layout is a configuration error and pushes nothing', async () => {
    const dir = join(lab.dir, 'layout-bad')
    mkdirSync(dir)
    writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
    writeFileSync(
      join(dir, 'index.json'),
      JSON.stringify({
        manifests: [{ mediaType: MEDIA.ociManifest, digest: `sha256:${'e'.repeat(64)}`, size: 10 }]
      })
    )
    const result = await runAction('image-push', {
      mode: 'oci-layout',
      'oci-layout': dir,
      image: `${staging.host}/never/pushed`,
      tags: 'sha'
    })
    expect(result.exitCode).toBe(2)
    expect(result.stdout).toContain('is missing from blobs/sha256/')
    const res = await fetch(`${staging.url}/v2/never/pushed/tags/list`)
    expect(res.status).toBe(404)
  })

  it('lists the signatures it copied in the `referrers` output', async () => {
    const image = await pushImage(staging, 'team/signed', 'candidate', {
      layers: 1,
      layerBytes: 100,
      oci: true
    })
    const tag = `${image.digest.replace(':', '-')}.sig`
    await pushArtifact(staging, 'team/signed', tag, image, {
      layerType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      withSubject: false
    })
    const result = await runAction('image-push', {
      mode: 'promote',
      source: `${staging.host}/team/signed@${image.digest}`,
      image: `${staging.host}/release/signed`,
      tags: 'sha'
    })
    expect(result.exitCode).toBe(0)
    expect(result.outputs.referrers).toBe(`${staging.host}/release/signed:${tag}`)
    expect(result.summary).toContain('| referrers | 1 copied')
  })

  it('a missing source digest is "could not run", not a silent success', async () => {
    const result = await runAction('image-push', {
      mode: 'promote',
      source: `${staging.host}/team/app@sha256:${'1'.repeat(64)}`,
      image: `${staging.host}/release/app`
    })
    expect(result.exitCode).toBe(3)
    expect(result.outputs.digest).toBeUndefined()
  })

  it.each([
    [
      { mode: 'promote', image: 'ghcr.io/org/app' },
      'input `source` is required when `mode` is `promote`'
    ],
    [{ image: 'ghcr.io/org/app:1.0' }, 'give the repository only'],
    [{ image: 'ghcr.io/org/app', tags: '{{tag}}' }, 'unknown placeholder {{tag}}'],
    [{ image: 'ghcr.io/org/app', username: 'bot' }, 'inputs `username` and `password` go together'],
    [
      { mode: 'oci-layout', image: 'ghcr.io/org/app' },
      'input `oci-layout` is required when `mode` is `oci-layout`'
    ],
    [
      {
        mode: 'promote',
        source: 'ghcr.io/org/app:1',
        'oci-layout': 'out',
        image: 'ghcr.io/org/app'
      },
      'input `oci-layout` is only for `mode: oci-layout`'
    ],
    [
      { mode: 'oci-layout', 'oci-layout': '/nonexistent', image: 'ghcr.io/org/app' },
      'input `oci-layout` = `/nonexistent`: cannot read oci-layout: ENOENT'
    ],
    [{ image: 'ghcr.io/org/app', 'idle-timeout': '0s' }, 'expected a duration from 1s to 1h']
  ])('rejects bad inputs before touching anything: %j', async (inputs, message) => {
    const result = await runAction('image-push', inputs)
    expect(result.exitCode).toBe(2)
    expect(result.stdout).toContain(message)
  })
})
