/**
 * Contract tests of the Sigstore check of a Trivy download: Sigstore's public-good instance
 * cannot be reached here, so the bundles are made by a self-made Sigstore (a CA, a Rekor-style
 * log and a CT log; test/scan/sigstore-fixture.ts) in the shape `cosign sign-blob --bundle`
 * writes, served beside the archive by the local release server, and checked by the real
 * @sigstore/verify against that Sigstore's trusted_root.json (`trustedRootPath`). What is not
 * covered: a real Trivy bundle and the TUF fetch of the public-good root.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Lab } from '../../lab/lab.js'
import { ToolError } from '../../src/core/errors.js'
import { installTrivy, type InstallOptions } from '../../src/scan/install.js'
import { trivySigningIdentity, type SignaturePolicy } from '../../src/scan/trivy-signature.js'
import { trivyVersion } from '../../src/scan/trivy.js'
import { archiveDigest, ASSET, ReleaseFixture, type PublishOptions } from './release-fixture.js'
import { TestSigstore } from './sigstore-fixture.js'

const V = '0.73.9'
const BUNDLE = `${ASSET(V)}.sigstore.json`
let lab: Lab
let releases: ReleaseFixture

beforeAll(() => {
  lab = Lab.create('scan-signature-')
  releases = new ReleaseFixture(lab)
})
afterAll(async () => {
  await lab.stop()
})

/** Publishes a release as told, serves it, and installs it with the digest of what is served. */
async function attempt(
  name: string,
  publish: PublishOptions = {},
  install: Partial<InstallOptions> = {}
) {
  const root = lab.mkdir(`releases-${name}`)
  releases.publish(root, V, publish)
  const server = await releases.startServer(`release-${name}`, root)
  const toolCacheDir = lab.mkdir(`tool-cache-${name}`)
  const options: InstallOptions = {
    version: V,
    // the user's trivy-sha256 matches what is served (also when that is tampered): the
    // signature is what has to catch it
    sha256: archiveDigest(root, V),
    toolCacheDir,
    tempDir: lab.mkdir(`tmp-${name}`),
    baseUrl: server.url,
    platform: 'linux',
    arch: 'x64',
    trustedRootPath: releases.trustedRoot,
    retryDelaysMs: [10],
    ...install
  }
  const installed = installTrivy(options)
  installed.catch(() => undefined)
  return {
    installed,
    server,
    /** Nothing refused may be left where the next job would find it. */
    installedNothing: () =>
      !existsSync(join(toolCacheDir, 'trivy', V, 'x64')) &&
      !existsSync(join(toolCacheDir, 'trivy', V, 'x64.complete'))
  }
}

const refusal = (what: RegExp) =>
  new RegExp(
    `Sigstore verification of trivy_0\\.73\\.9_Linux-64bit\\.tar\\.gz failed: ${what.source}.*refusing to install this Trivy`
  )

describe('Sigstore bundle of a Trivy download (contract tests: self-made Sigstore, real @sigstore/verify)', () => {
  it('installs a release whose bundle verifies, and says who signed it', async () => {
    const { installed, server } = await attempt('good')
    const result = await installed
    expect(result.signer).toEqual({
      identity: `https://github.com/aquasecurity/trivy/.github/workflows/reusable-release.yaml@refs/tags/v${V}`,
      issuer: 'https://token.actions.githubusercontent.com'
    })
    expect(await trivyVersion(result.path)).toBe('0.72.0')
    expect(await server.log()).toContain(`/download/v${V}/${BUNDLE}`)
  })

  it('refuses an archive the signature does not cover, even with a matching trivy-sha256', async () => {
    const { installed, installedNothing } = await attempt('tampered', { tamper: true })
    await expect(installed).rejects.toThrow(ToolError)
    await expect(installed).rejects.toThrow(
      refusal(/the signature does not match the archive \(tampered or swapped archive\)/)
    )
    expect(installedNothing()).toBe(true)
  })

  it.each([
    [
      'another repository',
      'https://github.com/attacker/trivy/.github/workflows/reusable-release.yaml@refs/tags/v0.73.9'
    ],
    [
      'another tag',
      'https://github.com/aquasecurity/trivy/.github/workflows/reusable-release.yaml@refs/tags/v0.73.8'
    ],
    [
      'another workflow',
      'https://github.com/aquasecurity/trivy/.github/workflows/canary.yaml@refs/tags/v0.73.9'
    ],
    [
      'a longer identity containing the expected one',
      'https://github.com/aquasecurity/trivy/.github/workflows/reusable-release.yaml@refs/tags/v0.73.9-evil'
    ]
  ])('refuses a bundle signed for %s', async (label, identity) => {
    const { installed, installedNothing } = await attempt(
      `identity-${label.replace(/\W+/g, '-')}`,
      {
        signer: { identity }
      }
    )
    await expect(installed).rejects.toThrow(ToolError)
    const escaped = identity.replace(/[.?]/g, '\\$&')
    await expect(installed).rejects.toThrow(
      refusal(
        new RegExp(
          `the certificate identity is ${escaped}, not Trivy's release workflow for v0\\.73\\.9 \\(${trivySigningIdentity(V).replace(/[.?]/g, '\\$&')}\\)`
        )
      )
    )
    expect(installedNothing()).toBe(true)
  })

  it('refuses a certificate issued for another OIDC issuer', async () => {
    const { installed, installedNothing } = await attempt('issuer', {
      signer: { issuer: 'https://accounts.google.com' }
    })
    await expect(installed).rejects.toThrow(
      refusal(
        /the certificate's OIDC issuer is https:\/\/accounts\.google\.com, not https:\/\/token\.actions\.githubusercontent\.com/
      )
    )
    expect(installedNothing()).toBe(true)
  })

  it('refuses a bundle from a Sigstore the trusted root does not name', async () => {
    const { installed, installedNothing } = await attempt('foreign-ca', {
      sigstore: new TestSigstore()
    })
    await expect(installed).rejects.toThrow(
      refusal(/the signing certificate does not chain to a trusted Sigstore CA \[CERTIFICATE_ERROR/)
    )
    expect(installedNothing()).toBe(true)
  })

  it('refuses a release without a bundle under require, naming the way out', async () => {
    const { installed, installedNothing } = await attempt('missing', { omitBundle: true })
    await expect(installed).rejects.toThrow(ToolError)
    await expect(installed).rejects.toThrow(
      new RegExp(
        `Trivy 0\\.73\\.9 has no Sigstore bundle at http://127\\.0\\.0\\.1:\\d+/download/v0\\.73\\.9/${BUNDLE.replace(/\./g, '\\.')} \\(HTTP 404\\) and trivy-signature is \`require\`.*\`trivy-signature: if-present\``
      )
    )
    expect(installedNothing()).toBe(true)
  })

  it.each<[SignaturePolicy, boolean]>([
    ['if-present', true],
    ['off', false]
  ])(
    'installs a release without a bundle under %s on the SHA-256 alone',
    async (signature, asks) => {
      const { installed, server } = await attempt(
        `missing-${signature}`,
        { omitBundle: true },
        {
          signature
        }
      )
      const result = await installed
      expect(result.signer).toBeUndefined()
      expect(result.sha256).toMatch(/^[0-9a-f]{64}$/)
      expect((await server.log()).some((p) => p.endsWith('.sigstore.json'))).toBe(asks)
    }
  )

  it('refuses a bad bundle under if-present too: only a missing one is let through', async () => {
    const { installed, installedNothing } = await attempt(
      'if-present-bad',
      { signer: { issuer: 'https://accounts.google.com' } },
      { signature: 'if-present' }
    )
    await expect(installed).rejects.toThrow(refusal(/the certificate's OIDC issuer is/))
    expect(installedNothing()).toBe(true)
  })

  it.each([
    ['garbage', 'not json {', /trivy_0\.73\.9_Linux-64bit\.tar\.gz\.sigstore\.json is not JSON/],
    [
      'JSON that is no bundle',
      JSON.stringify({ mediaType: 'text/plain', hello: 'world' }),
      /trivy_0\.73\.9_Linux-64bit\.tar\.gz\.sigstore\.json is not a valid Sigstore bundle \(invalid bundle: mediaType, content, verificationMaterial\)/
    ]
  ])('refuses %s as the bundle', async (label, text, what) => {
    const { installed, installedNothing } = await attempt(`bundle-${label.replace(/\W+/g, '-')}`, {
      bundleText: text
    })
    await expect(installed).rejects.toThrow(ToolError)
    await expect(installed).rejects.toThrow(refusal(what))
    expect(installedNothing()).toBe(true)
  })

  it('refuses a bundle whose transparency log entry was removed: no verified timestamp', async () => {
    const { installed, installedNothing } = await attempt('no-tlog', {
      mangle: (b) => {
        ;(b.verificationMaterial as { tlogEntries: unknown[] }).tlogEntries = []
      }
    })
    await expect(installed).rejects.toThrow(
      refusal(/no verified timestamp \(transparency log or timestamp authority\)/)
    )
    expect(installedNothing()).toBe(true)
  })

  it('checks nothing it cannot reach: the trusted root given must be readable', async () => {
    const broken = join(lab.mkdir('broken-root'), 'trusted_root.json')
    writeFileSync(broken, '{')
    const { installed, installedNothing } = await attempt(
      'broken-root',
      {},
      { trustedRootPath: broken }
    )
    await expect(installed).rejects.toThrow(
      /Sigstore trusted root .*trusted_root\.json could not be read as JSON/
    )
    expect(installedNothing()).toBe(true)
  })
})
