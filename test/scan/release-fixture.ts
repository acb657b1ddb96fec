/**
 * A Trivy release folder as GitHub serves it (`v<version>/<tarball>`, its checksums file and
 * its `<tarball>.sigstore.json`), served by a local stand-in on 127.0.0.1. The bundles are
 * signed by a self-made Sigstore (sigstore-fixture.ts) whose trusted root the tests pass as
 * `trustedRootPath`.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Lab } from '../../lab/lab.js'
import { freePort } from '../../lab/ports.js'
import { httpOk } from '../../lab/process.js'
import {
  trivySigningIdentity,
  TRIVY_SIGNING_ISSUER,
  TRIVY_SOURCE_REPOSITORY
} from '../../src/scan/trivy-signature.js'
import { FAKE_TRIVY } from './helpers.js'
import { TestSigstore, type AttestOptions, type SignOptions } from './sigstore-fixture.js'

const SERVER = fileURLToPath(new URL('../fixtures/scan/release-server.mjs', import.meta.url))
export const ASSET = (v: string) => `trivy_${v}_Linux-64bit.tar.gz`

export interface PublishOptions {
  tamper?: boolean
  omitSum?: boolean
  /** Who signs the bundle (default: Trivy's release workflow at `v<version>`, GitHub's issuer). */
  signer?: Partial<SignOptions>
  /**
   * Publish an in-toto attestation bundle (`cosign attest-blob`) instead of a message
   * signature, made with these options (its subject defaults to the archive's digest and name).
   */
  attest?: Partial<AttestOptions>
  /** Which Sigstore signs it (default: the one whose root the tests trust). */
  sigstore?: TestSigstore
  /** No bundle at all (a release before 0.68.1, or a stripped mirror). */
  omitBundle?: boolean
  /** Serve this text as the bundle instead. */
  bundleText?: string
  /** Change the signed bundle's JSON before it is served (`served`: the archive's bytes as served). */
  mangle?: (bundle: Record<string, unknown>, served: Buffer) => void
}

export class ReleaseFixture {
  readonly sigstore = new TestSigstore()
  /** trusted_root.json naming `sigstore`'s CA, Rekor and CT log. */
  readonly trustedRoot: string

  constructor(private readonly lab: Lab) {
    this.trustedRoot = join(lab.mkdir('sigstore'), 'trusted_root.json')
    writeFileSync(this.trustedRoot, JSON.stringify(this.sigstore.trustedRoot(), null, 2))
  }

  publish(root: string, version: string, options: PublishOptions = {}): void {
    const dir = join(root, `v${version}`)
    const build = this.lab.mkdir('build', version)
    mkdirSync(dir, { recursive: true })
    copyFileSync(FAKE_TRIVY, join(build, 'trivy'))
    writeFileSync(join(build, 'README.md'), 'trivy\n')
    const archive = join(dir, ASSET(version))
    execFileSync('tar', ['-czf', archive, '-C', build, 'trivy', 'README.md'])
    const bytes = readFileSync(archive)
    const sum = createHash('sha256').update(bytes).digest('hex')
    const lines = [`${'0'.repeat(64)}  trivy_${version}_Linux-ARM64.tar.gz`]
    if (!options.omitSum) lines.push(`${sum}  ${ASSET(version)}`)
    writeFileSync(join(dir, `trivy_${version}_checksums.txt`), `${lines.join('\n')}\n`)
    // the tampered archive is swapped in after the checksums and the bundle were published
    const served = options.tamper ? Buffer.concat([bytes, Buffer.from('x')]) : bytes
    if (!options.omitBundle) {
      const sigstore = options.sigstore ?? this.sigstore
      const signer = {
        identity: trivySigningIdentity(version),
        issuer: TRIVY_SIGNING_ISSUER,
        // what Fulcio writes for Trivy's release: its repository, at the release's tag
        sourceRepository: TRIVY_SOURCE_REPOSITORY,
        sourceRef: `refs/tags/v${version}`,
        ...options.signer
      }
      const bundle =
        options.bundleText ??
        (options.attest
          ? sigstore.attest(bytes, { subjectName: ASSET(version), ...signer, ...options.attest })
          : sigstore.sign(bytes, signer))
      if (options.mangle) {
        const json = JSON.parse(bundle) as Record<string, unknown>
        options.mangle(json, served)
        writeFileSync(`${archive}.sigstore.json`, JSON.stringify(json))
      } else writeFileSync(`${archive}.sigstore.json`, bundle)
    }
    if (options.tamper) writeFileSync(archive, served)
  }

  async startServer(
    name: string,
    root: string,
    failFirst = 0
  ): Promise<{ url: string; log: () => Promise<string[]> }> {
    const port = await freePort()
    const proc = this.lab.spawn(name, [
      process.execPath,
      SERVER,
      `--root=${root}`,
      `--port=${port}`,
      `--fail-first=${failFirst}`
    ])
    const base = `http://127.0.0.1:${port}`
    await proc.waitReady(() => httpOk(`${base}/__log`), 10_000)
    return {
      url: `${base}/download`,
      log: async () => (await (await fetch(`${base}/__log`)).json()) as string[]
    }
  }
}

/** SHA-256 of the archive in a published release folder. */
export const archiveDigest = (root: string, version: string) =>
  createHash('sha256')
    .update(readFileSync(join(root, `v${version}`, ASSET(version))))
    .digest('hex')
