import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Lab } from '../../lab/lab.js'
import { ConfigurationError, ToolError } from '../../src/core/errors.js'
import { installTrivy } from '../../src/scan/install.js'
import { parseTrivyVersion } from '../../src/scan/trivy-release.js'
import { trivyVersion } from '../../src/scan/trivy.js'
import { FAKE_TRIVY } from './helpers.js'
import { archiveDigest, ASSET, ReleaseFixture, type PublishOptions } from './release-fixture.js'

let lab: Lab
let releases: ReleaseFixture
const publish = (root: string, version: string, options?: PublishOptions) =>
  releases.publish(root, version, options)
const startServer = (name: string, root: string, failFirst = 0) =>
  releases.startServer(name, root, failFirst)
const digest = archiveDigest

beforeAll(() => {
  lab = Lab.create('scan-install-')
  releases = new ReleaseFixture(lab)
})
afterAll(async () => {
  await lab.stop()
})

describe('installTrivy against a local release server', () => {
  // 0.73.9 is a version this action embeds no digest for: the tests vouch with `sha256`.
  const V = '0.73.9'

  async function installed(name: string) {
    const root = lab.mkdir(`releases-${name}`)
    publish(root, V)
    const server = await startServer(`release-${name}`, root)
    const options = {
      version: V,
      sha256: digest(root, V),
      toolCacheDir: lab.mkdir(`tool-cache-${name}`),
      tempDir: lab.mkdir(`tmp-${name}`),
      baseUrl: server.url,
      platform: 'linux' as const,
      arch: 'x64',
      trustedRootPath: releases.trustedRoot
    }
    return { root, server, options, first: await installTrivy(options) }
  }

  it('installs a good archive into the tool cache, then reuses it without downloading', async () => {
    const { root, server, options, first } = await installed('good')
    expect(first.fromCache).toBe(false)
    expect(first.toolCacheBinary).toBe(join(options.toolCacheDir, 'trivy', V, 'x64', 'trivy'))
    expect(existsSync(join(options.toolCacheDir, 'trivy', V, 'x64.complete'))).toBe(true)
    expect(statSync(first.toolCacheBinary).mode & 0o111).not.toBe(0)
    expect(first.sha256).toBe(digest(root, V))
    // only the binary (and the verified archive, to re-check it) are kept
    expect(existsSync(join(options.toolCacheDir, 'trivy', V, 'x64', 'README.md'))).toBe(false)
    expect(await trivyVersion(first.path)).toBe('0.72.0')

    const requestsBefore = (await server.log()).length
    const second = await installTrivy(options)
    expect(second).toMatchObject({
      toolCacheBinary: first.toolCacheBinary,
      fromCache: true,
      sha256: digest(root, V)
    })
    expect(readFileSync(second.path)).toEqual(readFileSync(first.toolCacheBinary))
    expect((await server.log()).length).toBe(requestsBefore)
  })

  it('re-hashes a tool-cache hit: a planted binary is replaced from the verified archive', async () => {
    const { server, options, first } = await installed('planted')
    const genuine = readFileSync(first.toolCacheBinary)
    writeFileSync(first.toolCacheBinary, '#!/bin/sh\necho \'{"Version":"0.72.0"}\'\n')
    const requestsBefore = (await server.log()).length
    const again = await installTrivy(options)
    expect(again.fromCache).toBe(true)
    expect(readFileSync(again.path)).toEqual(genuine)
    expect(readFileSync(again.toolCacheBinary)).toEqual(genuine)
    expect(statSync(again.path).mode & 0o111).not.toBe(0)
    expect((await server.log()).length).toBe(requestsBefore)
  })

  it('runs a private copy: what the shared tool cache holds after the check never runs', async () => {
    const { options, first } = await installed('private')
    const again = await installTrivy(options)
    // The copy lives in a fresh 0700 directory under the run's temp dir, not in the tool cache.
    expect(again.path.startsWith(`${options.tempDir}/trivy-run-`)).toBe(true)
    expect(statSync(dirname(again.path)).mode & 0o777).toBe(0o700)
    expect(again.path).not.toBe(first.path)
    // A job sharing the runner swaps the cached binary and archive after the check: the copy
    // this run executes is unchanged, it was extracted from bytes hashed in memory.
    const genuine = readFileSync(again.path)
    writeFileSync(again.toolCacheBinary, '#!/bin/sh\necho planted\n')
    writeFileSync(join(dirname(again.toolCacheBinary), ASSET(V)), 'swapped')
    expect(readFileSync(again.path)).toEqual(genuine)
    expect(await trivyVersion(again.path)).toBe('0.72.0')
  })

  it('re-hashes a tool-cache hit: a swapped archive is discarded and downloaded again', async () => {
    const { server, options, first } = await installed('swapped')
    const kept = join(options.toolCacheDir, 'trivy', V, 'x64', ASSET(V))
    writeFileSync(kept, 'not the archive')
    writeFileSync(first.toolCacheBinary, 'planted')
    const again = await installTrivy(options)
    expect(again.fromCache).toBe(false)
    expect(await trivyVersion(again.path)).toBe('0.72.0')
    expect((await server.log()).filter((p) => p.endsWith('.tar.gz')).length).toBe(4) // 302 + 200, twice
  })

  it('refuses a tampered archive and leaves nothing in the tool cache', async () => {
    const root = lab.mkdir('releases-tampered')
    publish(root, V)
    const sha256 = digest(root, V)
    publish(root, V, { tamper: true })
    const server = await startServer('release-tampered', root)
    const toolCacheDir = lab.mkdir('tool-cache-tampered')
    const install = installTrivy({
      version: V,
      sha256,
      toolCacheDir,
      tempDir: lab.mkdir('tmp-t'),
      baseUrl: server.url,
      platform: 'linux',
      arch: 'x64',
      trustedRootPath: releases.trustedRoot
    })
    await expect(install).rejects.toThrow(ToolError)
    await expect(install).rejects.toThrow(
      /SHA-256 of trivy_0.73.9_Linux-64bit.tar.gz is [0-9a-f]{64}, but trivy-sha256 [0-9a-f]{64} says/
    )
    expect(existsSync(join(toolCacheDir, 'trivy', V, 'x64'))).toBe(false)
    expect(existsSync(join(toolCacheDir, 'trivy', V, 'x64.complete'))).toBe(false)
  })

  it('trusts the embedded digest, not the checksums file served beside the archive', async () => {
    // A re-published 0.74.0 whose checksums file matches its (fake) archive, as in March 2026.
    const root = lab.mkdir('releases-republished')
    publish(root, '0.74.0')
    const server = await startServer('release-republished', root)
    const toolCacheDir = lab.mkdir('tc-republished')
    await expect(
      installTrivy({
        version: '0.74.0',
        toolCacheDir,
        tempDir: lab.mkdir('tmp-r'),
        baseUrl: server.url,
        platform: 'linux',
        arch: 'x64',
        trustedRootPath: releases.trustedRoot
      })
    ).rejects.toThrow(
      /but the digest embedded in this action \(2ae6fe3ee734b7fdf11335663e18c75ea12dccc76062f09f164a3b0f8be4371a\) says 2ae6fe3e/
    )
    expect(existsSync(join(toolCacheDir, 'trivy', '0.74.0', 'x64'))).toBe(false)
  })

  it('refuses a version with no embedded digest and no trivy-sha256, before any download', async () => {
    const root = lab.mkdir('releases-unknown')
    publish(root, V)
    const server = await startServer('release-unknown', root)
    await expect(
      installTrivy({
        version: V,
        toolCacheDir: lab.mkdir('tc-unknown'),
        tempDir: lab.mkdir('tmp-u'),
        baseUrl: server.url,
        platform: 'linux',
        arch: 'x64',
        trustedRootPath: releases.trustedRoot
      })
    ).rejects.toThrow(/embeds no SHA-256 for trivy_0.73.9_Linux-64bit.tar.gz .*give `trivy-sha256`/)
    expect(await server.log()).toEqual([])
  })

  it('refuses the compromised 0.69.4 before any download, as input and as a binary', async () => {
    const root = lab.mkdir('releases-bad')
    publish(root, '0.69.4')
    const server = await startServer('release-bad', root)
    await expect(
      installTrivy({
        version: '0.69.4',
        sha256: digest(root, '0.69.4'),
        toolCacheDir: lab.mkdir('tc-bad'),
        tempDir: lab.mkdir('tmp-b'),
        baseUrl: server.url,
        platform: 'linux',
        arch: 'x64',
        trustedRootPath: releases.trustedRoot
      })
    ).rejects.toThrow(/Trivy 0.69.4 is refused: malicious release/)
    expect(await server.log()).toEqual([])
    expect(() => parseTrivyVersion('trivy-version', 'v0.69.4')).toThrow(ConfigurationError)
    expect(() => parseTrivyVersion('trivy-version', 'v0.69.4')).toThrow(
      /input `trivy-version` = `v0.69.4`: Trivy 0.69.4 is refused/
    )
    process.env.FAKE_TRIVY_VERSION = 'v0.69.4'
    try {
      await expect(trivyVersion(FAKE_TRIVY)).rejects.toThrow(/Trivy v0.69.4 is refused/)
    } finally {
      delete process.env.FAKE_TRIVY_VERSION
    }
  })

  it('retries a failing server, and does not retry a missing release', async () => {
    const root = lab.mkdir('releases-flaky')
    publish(root, V)
    const server = await startServer('release-flaky', root, 2)
    const installedFlaky = await installTrivy({
      version: V,
      sha256: digest(root, V),
      toolCacheDir: lab.mkdir('tc-flaky'),
      tempDir: lab.mkdir('tmp-f'),
      baseUrl: server.url,
      platform: 'linux',
      arch: 'x64',
      trustedRootPath: releases.trustedRoot,
      retryDelaysMs: [10, 10]
    })
    expect(installedFlaky.fromCache).toBe(false)
    const missing = installTrivy({
      version: '0.71.9',
      sha256: 'a'.repeat(64),
      toolCacheDir: lab.mkdir('tc-missing'),
      tempDir: lab.mkdir('tmp-m'),
      baseUrl: server.url,
      platform: 'linux',
      arch: 'x64',
      trustedRootPath: releases.trustedRoot,
      retryDelaysMs: [10, 10]
    })
    await expect(missing).rejects.toThrow(/answered HTTP 404/)
    expect((await server.log()).filter((p) => p.includes('0.71.9'))).toHaveLength(2) // 302 + 404, once
  })

  it.each([
    ['latest', /expected an exact release/],
    ['~0.72', /expected an exact release/],
    ['0.72', /expected an exact release/]
  ])('refuses trivy-version %s', (raw, message) => {
    expect(() => parseTrivyVersion('trivy-version', raw)).toThrow(message)
  })
})
