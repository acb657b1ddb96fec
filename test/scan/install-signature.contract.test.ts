/**
 * Contract tests of the Sigstore check of a Trivy download: Sigstore's public-good instance
 * cannot be reached here, so the bundles are made by a self-made Sigstore (a CA, a Rekor-style
 * log and a CT log; test/scan/sigstore-fixture.ts) in the shape `cosign sign-blob --bundle`
 * writes (a message signature) and the one `cosign attest-blob --bundle` writes (a DSSE
 * envelope with an in-toto Statement, what Trivy's latest docs verify), served beside the archive by the local release server, and checked by the real
 * @sigstore/verify against that Sigstore's trusted_root.json (`trustedRootPath`). What is not
 * covered: a real Trivy bundle and the TUF fetch of the public-good root.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import net from 'node:net'
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
      issuer: 'https://token.actions.githubusercontent.com',
      content: 'message-signature'
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

  it.each([
    [
      'another repository calling Trivy’s reusable release workflow (same SAN)',
      { sourceRepository: 'https://github.com/attacker/trivy' },
      /the certificate was issued to a workflow run of https:\/\/github\.com\/attacker\/trivy, not https:\/\/github\.com\/aquasecurity\/trivy/
    ],
    [
      'a run for another ref (same SAN)',
      { sourceRef: 'refs/heads/main' },
      /the certificate was issued to a run for refs\/heads\/main, not refs\/tags\/v0\.73\.9/
    ],
    [
      'a certificate without the source repository extension',
      { sourceRepository: undefined },
      /the certificate was issued to a workflow run of \(no Source Repository URI extension\)/
    ],
    [
      'the identity as an email SAN instead of a URI',
      { sans: [[1, trivySigningIdentity(V)]] as [1, string][] },
      /the certificate's subject alternative names are \[rfc822Name .*\], not exactly the URI/
    ],
    [
      'a second URI SAN beside the identity',
      {
        sans: [
          [6, trivySigningIdentity(V)],
          [6, 'https://github.com/attacker/x/.github/workflows/a.yaml@refs/heads/main']
        ] as [6, string][]
      },
      /the certificate's subject alternative names are \[URI .*, URI https:\/\/github\.com\/attacker.*\], not exactly the URI/
    ]
  ])('refuses %s', async (label, signer, why) => {
    const { installed, installedNothing } = await attempt(`source-${label.replace(/\W+/g, '-')}`, {
      signer
    })
    await expect(installed).rejects.toThrow(ToolError)
    await expect(installed).rejects.toThrow(refusal(why))
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

  it('never trusts TUF metadata from the shared tool cache: a planted root.json there is not read', async () => {
    // A job sharing a self-hosted runner can write the tool cache; @sigstore/tuf trusts a
    // root.json it finds in its cache over the root embedded in it, so the public-good
    // Sigstore's trust would be the planter's. Outbound connections are refused and recorded:
    // the TUF client must start from its embedded root (and so go to Sigstore's TUF CDN).
    const toolCacheDir = lab.mkdir('tool-cache-planted-tuf')
    // where @sigstore/tuf 5 keeps the public-good repository's metadata under its cachePath
    const tufDir = join(toolCacheDir, 'sigstore-tuf', 'tuf-repo-cdn.sigstore.dev')
    mkdirSync(tufDir, { recursive: true })
    const planted = join(tufDir, 'root.json')
    writeFileSync(planted, '{"signed": {"_type": "root", "planted": true}, "signatures": []}')
    const tried: string[] = []
    const connect = net.Socket.prototype.connect
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      // net.connect() passes its normalised [options, callback] array as the first argument
      const first = (Array.isArray(args[0]) ? args[0][0] : args[0]) as { host?: string } | null
      const host = typeof first === 'object' && first !== null ? first.host : undefined
      if (host === '127.0.0.1')
        return (connect as (...a: unknown[]) => net.Socket).apply(this, args)
      tried.push(String(host))
      process.nextTick(() => this.destroy(new Error(`network disabled by the test (${host})`)))
      return this
    } as typeof connect
    try {
      const { installed, installedNothing } = await attempt(
        'planted-tuf',
        {},
        { trustedRootPath: undefined, toolCacheDir }
      )
      await expect(installed).rejects.toThrow(/could not get Sigstore's trusted root/)
      expect(tried.some((h) => h.includes('sigstore.dev'))).toBe(true)
      expect(installedNothing()).toBe(true)
    } finally {
      net.Socket.prototype.connect = connect
    }
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

/** Re-encodes the bundle's DSSE payload (the signature is left as it was signed). */
function rewriteStatement(
  bundle: Record<string, unknown>,
  change: (statement: { subject: { name: string; digest: { sha256: string } }[] }) => void
) {
  const envelope = bundle.dsseEnvelope as { payload: string }
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'))
  change(statement)
  envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64')
}

describe('in-toto attestation bundle of a Trivy download (cosign verify-blob-attestation semantics)', () => {
  it.each<['dsse' | 'intoto', string]>([
    ['dsse', 'https://in-toto.io/Statement/v1'],
    ['intoto', 'https://in-toto.io/Statement/v0.1']
  ])(
    'installs a release whose attestation (%s log entry, %s) verifies and names the archive',
    async (tlogKind, statementType) => {
      const { installed, server } = await attempt(`attest-${tlogKind}`, {
        attest: { tlogKind, statementType }
      })
      const result = await installed
      expect(result.signer).toEqual({
        identity: trivySigningIdentity(V),
        issuer: 'https://token.actions.githubusercontent.com',
        content: 'attestation',
        subject: ASSET(V),
        predicateType: 'https://slsa.dev/provenance/v1'
      })
      expect(await trivyVersion(result.path)).toBe('0.72.0')
      expect(await server.log()).toContain(`/download/v${V}/${BUNDLE}`)
    }
  )

  it('finds the archive among several subjects, by digest in any case, whatever its name', async () => {
    const { installed } = await attempt('attest-subjects', {
      attest: {
        payload: (sha256) =>
          JSON.stringify({
            _type: 'https://in-toto.io/Statement/v1',
            subject: [
              { name: 'trivy_0.73.9_Linux-ARM64.tar.gz', digest: { sha256: '0'.repeat(64) } },
              { name: 'renamed.tar.gz', digest: { sha256: sha256.toUpperCase() } }
            ],
            predicateType: 'https://slsa.dev/provenance/v1',
            predicate: {}
          })
      }
    })
    const result = await installed
    expect(result.signer?.content).toBe('attestation')
    expect(result.signer?.subject).toBe('renamed.tar.gz')
  })

  it('refuses an attestation about another archive, naming the digests', async () => {
    const other = createHash('sha256').update('another archive').digest('hex')
    const { installed, installedNothing } = await attempt('attest-other', {
      attest: { subjectSha256: other }
    })
    await expect(installed).rejects.toThrow(ToolError)
    await expect(installed).rejects.toThrow(
      refusal(
        new RegExp(
          `the attestation does not name this archive: no subject has its SHA-256 [0-9a-f]{64} \\(subjects: trivy_0\\.73\\.9_Linux-64bit\\.tar\\.gz sha256:${other}\\)`
        )
      )
    )
    expect(installedNothing()).toBe(true)
  })

  it('refuses a swapped archive whose attestation was left as signed', async () => {
    const { installed, installedNothing } = await attempt('attest-swapped', {
      attest: {},
      tamper: true
    })
    await expect(installed).rejects.toThrow(refusal(/the attestation does not name this archive/))
    expect(installedNothing()).toBe(true)
  })

  it('refuses a swapped archive whose attestation was edited to name it', async () => {
    const { installed, installedNothing } = await attempt('attest-tampered', {
      attest: {},
      tamper: true,
      mangle: (bundle, served) =>
        rewriteStatement(bundle, (statement) => {
          statement.subject[0].digest.sha256 = createHash('sha256').update(served).digest('hex')
        })
    })
    await expect(installed).rejects.toThrow(
      refusal(
        /the transparency log entry is not for this signature and attestation \(tampered attestation\) \[TLOG_BODY_ERROR: DSSE payload hash mismatch\]/
      )
    )
    expect(installedNothing()).toBe(true)
  })

  it('refuses an envelope relabelled as in-toto: the signature covers the payloadType (DSSE PAE)', async () => {
    // signed as another type, then relabelled: the log entry (payload and signature) still
    // matches, only the signature over the PAE shows the change
    const { installed, installedNothing } = await attempt('attest-relabelled', {
      attest: { payloadType: 'application/vnd.example+json' },
      mangle: (bundle) => {
        ;(bundle.dsseEnvelope as { payloadType: string }).payloadType =
          'application/vnd.in-toto+json'
      }
    })
    await expect(installed).rejects.toThrow(
      refusal(
        /the signature does not match the attestation \(tampered attestation\) \[SIGNATURE_ERROR/
      )
    )
    expect(installedNothing()).toBe(true)
  })

  it('refuses a DSSE envelope that is not an in-toto attestation', async () => {
    const { installed, installedNothing } = await attempt('attest-type', {
      attest: { payloadType: 'application/vnd.example+json' }
    })
    await expect(installed).rejects.toThrow(
      refusal(
        /trivy_0\.73\.9_Linux-64bit\.tar\.gz\.sigstore\.json holds a DSSE envelope of payloadType "application\/vnd\.example\+json", not an in-toto attestation \(application\/vnd\.in-toto\+json\)/
      )
    )
    expect(installedNothing()).toBe(true)
  })

  it.each([
    [
      'a payload that is not JSON',
      { payload: 'not json {' },
      /the attestation's payload is not JSON/
    ],
    [
      'a Statement of an unknown _type',
      { statementType: 'https://in-toto.io/Statement/v9' },
      /the attestation's payload is not an in-toto Statement \(_type "https:\/\/in-toto\.io\/Statement\/v9"; accepted: https:\/\/in-toto\.io\/Statement\/v0\.1, https:\/\/in-toto\.io\/Statement\/v1\)/
    ],
    [
      'a Statement without subjects',
      { payload: JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [] }) },
      /the attestation does not name this archive: no subject has its SHA-256 [0-9a-f]{64} \(subjects: none\)/
    ]
  ])('refuses a signed attestation holding %s', async (label, attest, what) => {
    const { installed, installedNothing } = await attempt(`attest-${label.replace(/\W+/g, '-')}`, {
      attest
    })
    await expect(installed).rejects.toThrow(refusal(what))
    expect(installedNothing()).toBe(true)
  })

  it('refuses an attestation signed by another identity', async () => {
    const identity =
      'https://github.com/attacker/trivy/.github/workflows/reusable-release.yaml@refs/tags/v0.73.9'
    const { installed, installedNothing } = await attempt('attest-identity', {
      attest: {},
      signer: { identity }
    })
    await expect(installed).rejects.toThrow(
      refusal(
        /the certificate identity is https:\/\/github\.com\/attacker\/trivy\/.*, not Trivy's release workflow for v0\.73\.9/
      )
    )
    expect(installedNothing()).toBe(true)
  })

  it('refuses an attestation whose certificate has another OIDC issuer', async () => {
    const { installed, installedNothing } = await attempt('attest-issuer', {
      attest: {},
      signer: { issuer: 'https://accounts.google.com' }
    })
    await expect(installed).rejects.toThrow(
      refusal(/the certificate's OIDC issuer is https:\/\/accounts\.google\.com, not/)
    )
    expect(installedNothing()).toBe(true)
  })
})
