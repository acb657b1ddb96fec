import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { assertBundle, bundleFromJSON, type Bundle } from '@sigstore/bundle'
import { X509Certificate } from '@sigstore/core'
import { TrustedRoot } from '@sigstore/protobuf-specs'
import { getTrustedRoot } from '@sigstore/tuf'
import {
  PolicyError,
  toSignedEntity,
  toTrustMaterial,
  VerificationError,
  Verifier
} from '@sigstore/verify'
import { ToolError } from '../core/errors.js'

/**
 * `trivy-signature`: what to do with the release's Sigstore bundle.
 * - require: the bundle must be there and verify (every release since 0.68.1 has one);
 * - if-present: verify it when the release has one, rely on the SHA-256 alone when it has none;
 * - off: do not fetch it (an air-gapped mirror that does not carry the bundles).
 * A bundle that is there and does not verify is refused under both require and if-present.
 */
export type SignaturePolicy = 'require' | 'if-present' | 'off'
export const SIGNATURE_POLICIES: readonly SignaturePolicy[] = ['require', 'if-present', 'off']
export const DEFAULT_SIGNATURE_POLICY: SignaturePolicy = 'require'

/** GitHub Actions' OIDC issuer: Fulcio writes it into every certificate it issues to a workflow. */
export const TRIVY_SIGNING_ISSUER = 'https://token.actions.githubusercontent.com'

/**
 * The workflow that signs Trivy's release assets, at the release's own tag (Trivy's
 * "Signature Verification" guide: `cosign verify-blob[-attestation] --certificate-identity` this). Exact, not
 * a pattern: a signature made by another workflow, another repository or for another tag
 * (a re-published tag, as in March 2026) is not this release's.
 */
export function trivySigningIdentity(version: string): string {
  return `https://github.com/aquasecurity/trivy/.github/workflows/reusable-release.yaml@refs/tags/v${version}`
}

/** The repository whose release runs sign Trivy: Fulcio's Source Repository URI of the run. */
export const TRIVY_SOURCE_REPOSITORY = 'https://github.com/aquasecurity/trivy'

/** Trivy publishes `<asset>.sigstore.json` beside every release asset (since 0.68.1). */
export function bundleAssetName(asset: string): string {
  return `${asset}.sigstore.json`
}

export interface TrustedRootSource {
  /**
   * A `trusted_root.json` (Sigstore's protobuf JSON) to trust instead of the public-good
   * instance's: a private Sigstore, an air-gapped runner, or the tests' own CA and log.
   */
  trustedRootPath?: string
  /** Where @sigstore/tuf keeps the public-good TUF metadata: this run's own, never shared (its root.json is trusted). */
  tufCacheDir: string
}

/**
 * Sigstore's public-good trust root (Fulcio CAs, Rekor and CT log keys) comes from its TUF
 * repository, checked against the TUF root embedded in @sigstore/tuf (`tufCacheDir` must be
 * private: a root.json found there is trusted instead); `trustedRootPath` replaces it.
 */
export async function loadTrustedRoot(source: TrustedRootSource): Promise<TrustedRoot> {
  if (source.trustedRootPath) {
    let json: unknown
    try {
      json = JSON.parse(await readFile(source.trustedRootPath, 'utf8'))
    } catch (error) {
      throw new ToolError(
        `Sigstore trusted root ${source.trustedRootPath} could not be read as JSON: ${(error as Error).message}`,
        { cause: error }
      )
    }
    return TrustedRoot.fromJSON(json)
  }
  try {
    return await getTrustedRoot({ cachePath: join(source.tufCacheDir, 'sigstore-tuf') })
  } catch (error) {
    throw new ToolError(
      `could not get Sigstore's trusted root from its TUF repository (${(error as Error).message}); without it Trivy's signature cannot be checked. Give \`trivy-trusted-root\` a trusted_root.json, or set \`trivy-signature: off\` to rely on the SHA-256 alone`,
      { cause: error }
    )
  }
}

export interface BundleCheck {
  /** The bundle file's text as downloaded. */
  bundleJson: string
  /** The archive's bytes: the very bytes whose SHA-256 was checked and that get extracted. */
  artifact: Buffer
  asset: string
  version: string
  trustedRoot: TrustedRoot
}

export interface VerifiedSigner {
  identity: string
  issuer: string
  /**
   * What the bundle held: a message signature over the archive (`cosign sign-blob`), or an
   * in-toto attestation naming the archive's digest (`cosign attest-blob`, checked as
   * `cosign verify-blob-attestation` does).
   */
  content: 'message-signature' | 'attestation'
  /** For an attestation: the Statement's subject whose sha256 is the archive's, and its predicate type. */
  subject?: string
  predicateType?: string
}

/** DSSE payload type of an in-toto Statement. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json'
/** The in-toto Statement versions whose `subject[].digest` is read. */
export const IN_TOTO_STATEMENT_TYPES: readonly string[] = [
  'https://in-toto.io/Statement/v0.1',
  'https://in-toto.io/Statement/v1'
]

function refuse(asset: string, what: string, cause?: unknown): ToolError {
  return new ToolError(
    `Sigstore verification of ${asset} failed: ${what}; refusing to install this Trivy`,
    { cause }
  )
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Parses the bundle; anything but a well-formed Sigstore bundle is refused, naming why. */
function parseBundle(asset: string, text: string): Bundle {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw refuse(
      asset,
      `${bundleAssetName(asset)} is not JSON (${(error as Error).message})`,
      error
    )
  }
  try {
    const bundle = bundleFromJSON(json)
    assertBundle(bundle)
    return bundle
  } catch (error) {
    const fields = (error as { fields?: string[] }).fields
    throw refuse(
      asset,
      `${bundleAssetName(asset)} is not a valid Sigstore bundle (${(error as Error).message}${fields?.length ? `: ${fields.join(', ')}` : ''})`,
      error
    )
  }
}

/** Fulcio's extensions for a GitHub Actions run (its OID info doc): who ran, for which ref. */
const OID_SOURCE_REPOSITORY_URI = '1.3.6.1.4.1.57264.1.12'
const OID_SOURCE_REPOSITORY_REF = '1.3.6.1.4.1.57264.1.14'
const OID_SUBJECT_ALT_NAME = '2.5.29.17'
const GENERAL_NAME_TYPES: Record<number, string> = {
  0: 'otherName',
  1: 'rfc822Name',
  2: 'dNSName',
  4: 'directoryName',
  6: 'URI',
  7: 'iPAddress',
  8: 'registeredID'
}

function leafCertificate(bundle: Bundle): X509Certificate {
  const material = bundle.verificationMaterial.content
  const raw =
    material.$case === 'certificate'
      ? material.certificate.rawBytes
      : material.$case === 'x509CertificateChain'
        ? material.x509CertificateChain.certificates[0]?.rawBytes
        : undefined
  if (!raw) throw new Error('the bundle holds no signing certificate')
  return X509Certificate.parse(Buffer.from(raw))
}

/** A Fulcio v2 extension: a DER UTF8String inside the extension's OCTET STRING. */
function fulcioString(cert: X509Certificate, oid: string): string | undefined {
  return cert.extension(oid)?.valueObj.subs?.[0]?.value.toString('utf8')
}

/**
 * What @sigstore/verify's policy cannot say. Its SAN is the first URI (or else the email) of
 * the certificate, so the SAN must be exactly one URI GeneralName, in one SAN extension. And a
 * GitHub workflow's SAN is the *called* workflow's ref: any repository may call
 * `aquasecurity/trivy/.github/workflows/reusable-release.yaml@refs/tags/v<version>` from its
 * own workflow, with its own code, and get a certificate with that very SAN; Fulcio's Source
 * Repository URI and Ref say whose run it was and for which ref (cosign's
 * `--certificate-github-workflow-repository`/`-ref`).
 */
function checkCertificate(asset: string, bundle: Bundle, identity: string, version: string): void {
  let cert: X509Certificate
  try {
    cert = leafCertificate(bundle)
  } catch (error) {
    throw refuse(
      asset,
      `its signing certificate cannot be read (${(error as Error).message})`,
      error
    )
  }
  const sanExtensions = cert.extensions.filter((e) => e.subs[0]?.toOID() === OID_SUBJECT_ALT_NAME)
  const generalNames = cert.extension(OID_SUBJECT_ALT_NAME)?.valueObj.subs[0]?.subs ?? []
  const names = generalNames.map((gn) => {
    const tag = Object.keys(GENERAL_NAME_TYPES)
      .map(Number)
      .find((t) => gn.tag.isContextSpecific(t))
    return {
      type: tag === undefined ? 'unknown' : GENERAL_NAME_TYPES[tag],
      value: gn.value.toString('ascii')
    }
  })
  if (
    sanExtensions.length !== 1 ||
    names.length !== 1 ||
    names[0].type !== 'URI' ||
    names[0].value !== identity
  )
    throw refuse(
      asset,
      `the certificate's subject alternative names are [${names.map((n) => `${n.type} ${n.value}`).join(', ')}]${sanExtensions.length > 1 ? ` in ${sanExtensions.length} extensions` : ''}, not exactly the URI ${identity}`
    )
  const repository = fulcioString(cert, OID_SOURCE_REPOSITORY_URI)
  if (repository !== TRIVY_SOURCE_REPOSITORY)
    throw refuse(
      asset,
      `the certificate was issued to a workflow run of ${repository ?? '(no Source Repository URI extension)'}, not ${TRIVY_SOURCE_REPOSITORY} (any repository can call Trivy's reusable release workflow and get its SAN)`
    )
  const ref = fulcioString(cert, OID_SOURCE_REPOSITORY_REF)
  if (ref !== `refs/tags/v${version}`)
    throw refuse(
      asset,
      `the certificate was issued to a run for ${ref ?? '(no Source Repository Ref extension)'}, not refs/tags/v${version}`
    )
}

/** What each @sigstore/verify error code means to someone reading the job log. */
function failureMeaning(code: string, content: VerifiedSigner['content']): string | undefined {
  const signed =
    content === 'attestation'
      ? 'the attestation (tampered attestation)'
      : 'the archive (tampered or swapped archive)'
  const failures: Record<string, string> = {
    SIGNATURE_ERROR: `the signature does not match ${signed}`,
    TLOG_BODY_ERROR:
      content === 'attestation'
        ? 'the transparency log entry is not for this signature and attestation (tampered attestation)'
        : 'the transparency log entry is not for this signature and archive digest (tampered or swapped archive)',
    CERTIFICATE_ERROR: 'the signing certificate does not chain to a trusted Sigstore CA',
    TIMESTAMP_ERROR: 'no verified timestamp (transparency log or timestamp authority)',
    TLOG_INCLUSION_PROMISE_ERROR: 'the transparency log inclusion promise does not verify',
    TLOG_INCLUSION_PROOF_ERROR: 'the transparency log inclusion proof does not verify',
    TLOG_MISSING_INCLUSION_ERROR: 'the bundle has no verifiable transparency log inclusion'
  }
  return failures[code]
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The signed in-toto Statement must name the archive: some subject's `digest.sha256` is its
 * SHA-256 (hex, any case), as `cosign verify-blob-attestation` requires. The subject's name is
 * not compared (cosign does not either); it is returned for the log.
 */
function attestedSubject(
  asset: string,
  payload: Buffer,
  sha256: string
): { subject: string; predicateType?: string } {
  let statement: unknown
  try {
    statement = JSON.parse(payload.toString('utf8'))
  } catch (error) {
    throw refuse(
      asset,
      `the attestation's payload is not JSON (${(error as Error).message}), so it cannot name the archive`,
      error
    )
  }
  if (!isRecord(statement) || !IN_TOTO_STATEMENT_TYPES.includes(statement._type as string))
    throw refuse(
      asset,
      `the attestation's payload is not an in-toto Statement (_type ${JSON.stringify(isRecord(statement) ? statement._type : statement)}; accepted: ${IN_TOTO_STATEMENT_TYPES.join(', ')})`
    )
  const subjects = Array.isArray(statement.subject) ? statement.subject.filter(isRecord) : []
  const predicateType =
    typeof statement.predicateType === 'string' ? statement.predicateType : undefined
  const match = subjects.find((s) => {
    const digest = isRecord(s.digest) ? s.digest.sha256 : undefined
    return typeof digest === 'string' && digest.toLowerCase() === sha256
  })
  if (match)
    return { subject: typeof match.name === 'string' ? match.name : '(unnamed)', predicateType }
  const named = subjects
    .slice(0, 5)
    .map(
      (s) =>
        `${typeof s.name === 'string' ? s.name : '(unnamed)'} sha256:${isRecord(s.digest) && typeof s.digest.sha256 === 'string' ? s.digest.sha256 : '(none)'}`
    )
  throw refuse(
    asset,
    `the attestation does not name this archive: no subject has its SHA-256 ${sha256} (subjects: ${named.length ? `${named.join(', ')}${subjects.length > 5 ? ', ...' : ''}` : 'none'})`
  )
}

/**
 * Verifies Trivy's Sigstore bundle with @sigstore/verify against the trusted root: a verified
 * timestamp, the certificate chain to a Fulcio CA at that time, an SCT from a CT log, the
 * Rekor entry for this signature and digest, and the signature; then the certificate's SAN
 * must be exactly the release workflow at `v<version>` and its OIDC issuer GitHub Actions'.
 * The bundle may hold either a message signature over the archive bytes (`cosign sign-blob`,
 * Trivy's docs up to 0.72) or a DSSE envelope with an in-toto Statement (`cosign attest-blob`,
 * Trivy's latest docs: `cosign verify-blob-attestation`); for the latter the signature is over
 * the envelope's PAE, so the Statement must also name the archive's SHA-256 as a subject.
 * Every failure is refused with what failed.
 */
export function verifyTrivyBundle(check: BundleCheck): VerifiedSigner {
  const { asset, version } = check
  const bundle = parseBundle(asset, check.bundleJson)
  let content: VerifiedSigner['content']
  if (bundle.content.$case === 'messageSignature') content = 'message-signature'
  else if (bundle.content.$case === 'dsseEnvelope') {
    content = 'attestation'
    const { payloadType } = bundle.content.dsseEnvelope
    if (payloadType !== IN_TOTO_PAYLOAD_TYPE)
      throw refuse(
        asset,
        `${bundleAssetName(asset)} holds a DSSE envelope of payloadType ${JSON.stringify(payloadType)}, not an in-toto attestation (${IN_TOTO_PAYLOAD_TYPE})`
      )
  } else
    throw refuse(
      asset,
      `${bundleAssetName(asset)} holds a ${(bundle.content as { $case: string }).$case}, neither a message signature over the archive nor an in-toto attestation`
    )
  const identity = trivySigningIdentity(version)
  let signer
  try {
    const verifier = new Verifier(toTrustMaterial(check.trustedRoot), {
      tlogThreshold: 1,
      ctlogThreshold: 1,
      timestampThreshold: 1
    })
    signer = verifier.verify(toSignedEntity(bundle, check.artifact), {
      subjectAlternativeName: new RegExp(`^${escapeRegExp(identity)}$`),
      extensions: { issuer: TRIVY_SIGNING_ISSUER }
    })
  } catch (error) {
    if (error instanceof PolicyError) {
      const got = /got (.*)$/.exec(error.message)?.[1] ?? 'something else'
      const what = error.message.includes('certificate identity')
        ? `the certificate identity is ${got}, not Trivy's release workflow for v${version} (${identity})`
        : error.message.includes('issuer')
          ? `the certificate's OIDC issuer is ${got.replace(/^issuer=/, '')}, not ${TRIVY_SIGNING_ISSUER}`
          : error.message
      throw refuse(asset, what, error)
    }
    if (error instanceof VerificationError) {
      const meaning = failureMeaning(error.code, content)
      throw refuse(
        asset,
        meaning
          ? `${meaning} [${error.code}: ${error.message}]`
          : `${error.code}: ${error.message}`,
        error
      )
    }
    throw refuse(asset, (error as Error).message, error)
  }
  // Belt and braces: the policy above already required these, compared here without a pattern.
  const san = signer.identity?.subjectAlternativeName
  const issuer = signer.identity?.extensions?.issuer
  if (san !== identity) throw refuse(asset, `the certificate identity is ${san}, not ${identity}`)
  if (issuer !== TRIVY_SIGNING_ISSUER)
    throw refuse(asset, `the certificate's OIDC issuer is ${issuer}, not ${TRIVY_SIGNING_ISSUER}`)
  checkCertificate(asset, bundle, identity, version)
  if (bundle.content.$case !== 'dsseEnvelope') return { identity: san, issuer, content }
  // the signature (checked above over the PAE of payloadType and payload) covers the Statement
  const sha256 = createHash('sha256').update(check.artifact).digest('hex')
  const attested = attestedSubject(asset, bundle.content.dsseEnvelope.payload, sha256)
  return { identity: san, issuer, content, ...attested }
}
