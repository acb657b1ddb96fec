import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Lab } from '../../lab/lab.js'
import { runAction } from '../../lab/runner.js'
import { startRegistry, type Registry } from '../../lab/services/registry.js'
import { MANIFEST_ACCEPT } from '../../src/image/media-types.js'
import { fetchRaw, pushImage, pushIndex } from './upload.js'

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
    [{ image: 'ghcr.io/org/app', username: 'bot' }, 'inputs `username` and `password` go together']
  ])('rejects bad inputs before touching anything: %j', async (inputs, message) => {
    const result = await runAction('image-push', inputs)
    expect(result.exitCode).toBe(2)
    expect(result.stdout).toContain(message)
  })
})
