/**
 * A self-made Sigstore for contract tests (the public-good instance cannot be reached here): a
 * Fulcio-like CA, a Rekor-like log and a CT log, each with its own P-256 key, written as a
 * trusted_root.json; and a signer that makes the bundle `cosign sign-blob --bundle` makes: a
 * short-lived leaf certificate with the workflow's SAN URI, Fulcio's OIDC issuer extensions and
 * an embedded SCT, a message signature over the artifact, and a hashedrekord 0.0.1 log entry
 * with a signed entry timestamp; and the bundle `cosign attest-blob --bundle` makes: the same
 * certificate, a DSSE envelope holding an in-toto Statement about the artifact, and a dsse (or
 * intoto) log entry. The real @sigstore/verify checks all of it; nothing is stubbed.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'

// --- minimal DER ---------------------------------------------------------------------------
function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length
  const len =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : n < 0x10000
          ? Buffer.from([0x82, n >> 8, n & 0xff])
          : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff])
  return Buffer.concat([Buffer.from([tag]), len, content])
}
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items))
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items))
const octets = (b: Buffer) => tlv(0x04, b)
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'))
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]))
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]))
const explicit = (n: number, b: Buffer) => tlv(0xa0 + n, b)
function integer(b: Buffer): Buffer {
  let v = b
  while (v.length > 1 && v[0] === 0 && v[1] < 0x80) v = v.subarray(1)
  if (v[0] >= 0x80) v = Buffer.concat([Buffer.from([0]), v])
  return tlv(0x02, v)
}
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number)
  const out = [40 * a + b]
  for (const n of rest) {
    const chunk = [n & 0x7f]
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80)
    out.push(...chunk)
  }
  return tlv(0x06, Buffer.from(out))
}
function utcTime(d: Date): Buffer {
  const iso = d.toISOString() // 2026-12-02T03:04:05.000Z
  const s = iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13)
  return tlv(0x17, Buffer.from(`${s}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`, 'ascii'))
}
const name = (cn: string) =>
  seq(set(seq(oid('2.5.4.10'), utf8('ops-actions test'))), set(seq(oid('2.5.4.3'), utf8(cn))))
const ext = (id: string, value: Buffer, critical = false) =>
  critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value))
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'))

// --- keys ----------------------------------------------------------------------------------
interface Key {
  privateKey: KeyObject
  spki: Buffer
  /** SHA-256 of the SPKI: the log ID of a Rekor or CT log, the key ID of a certificate. */
  id: Buffer
}
function newKey(): Key {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  return { privateKey, spki, id: createHash('sha256').update(spki).digest() }
}

function certificate(tbs: Buffer, issuer: Key): Buffer {
  return seq(tbs, ECDSA_SHA256, bits(sign('sha256', tbs, issuer.privateKey)))
}

function tbsCertificate(o: {
  serial: Buffer
  issuer: string
  subject: Buffer
  notBefore: Date
  notAfter: Date
  spki: Buffer
  extensions: Buffer[]
}): Buffer {
  return seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(o.serial),
    ECDSA_SHA256,
    name(o.issuer),
    seq(utcTime(o.notBefore), utcTime(o.notAfter)),
    o.subject,
    o.spki,
    explicit(3, seq(...o.extensions))
  )
}

const uint = (n: number | bigint, bytes: number) => {
  const b = Buffer.alloc(bytes)
  if (bytes === 8) b.writeBigUInt64BE(BigInt(n))
  else b.writeUIntBE(Number(n), 0, bytes)
  return b
}

/** The JSON canonical form Rekor signs (keys sorted, no spaces): enough for flat string/number maps and nested objects. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0
  )
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
}

const b64 = (b: Buffer) => b.toString('base64')

export const FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1'
export const FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8'

export interface SignOptions {
  /** The certificate's SAN URI (the workflow identity). */
  identity: string
  /** The OIDC issuer written into Fulcio's issuer extensions. */
  issuer: string
  /** When the log integrated the entry (and the certificate's 10 minutes start); default now. */
  at?: Date
  /**
   * The SAN's GeneralNames instead of the one URI `identity` (tag 1 rfc822Name, 2 dNSName,
   * 6 URI): a certificate naming the identity otherwise, or more than one name.
   */
  sans?: [tag: 1 | 2 | 6, value: string][]
  /** Fulcio's Source Repository URI extension (1.3.6.1.4.1.57264.1.12): the calling repository. */
  sourceRepository?: string
  /** Fulcio's Source Repository Ref extension (1.3.6.1.4.1.57264.1.14): the ref the workflow ran for. */
  sourceRef?: string
}

export const FULCIO_SOURCE_REPOSITORY_URI = '1.3.6.1.4.1.57264.1.12'
export const FULCIO_SOURCE_REPOSITORY_REF = '1.3.6.1.4.1.57264.1.14'

export const IN_TOTO_JSON = 'application/vnd.in-toto+json'

/** DSSE's pre-authentication encoding: what a DSSE signature is over. */
export function dssePae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8')
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload
  ])
}

export interface AttestOptions extends SignOptions {
  /** The DSSE payload type (default in-toto's). */
  payloadType?: string
  /** The payload as signed (given the artifact's sha256), instead of the Statement made from the options below. */
  payload?: string | ((sha256: string) => string)
  /** The Statement's `_type` (default https://in-toto.io/Statement/v1). */
  statementType?: string
  subjectName?: string
  /** The subject's sha256 (default the artifact's; a function gets the artifact's). */
  subjectSha256?: string | ((sha256: string) => string)
  /** The Rekor entry's kind: `dsse` 0.0.1 (default) or `intoto` 0.0.2. */
  tlogKind?: 'dsse' | 'intoto'
}

export class TestSigstore {
  readonly ca = newKey()
  readonly rekor = newKey()
  readonly ctlog = newKey()
  readonly caCert: Buffer
  private logIndex = 1000
  private readonly epoch = new Date(Date.now() - 24 * 3600_000)

  constructor() {
    const caName = 'ops-actions test Fulcio'
    this.caCert = certificate(
      tbsCertificate({
        serial: randomBytes(16),
        issuer: caName,
        subject: name(caName),
        notBefore: this.epoch,
        notAfter: new Date(Date.now() + 365 * 24 * 3600_000),
        spki: this.ca.spki,
        extensions: [
          ext('2.5.29.15', bits(Buffer.from([0x06]), 1), true), // keyCertSign, cRLSign
          ext('2.5.29.19', seq(bool(true)), true), // CA:TRUE
          ext('2.5.29.14', octets(this.ca.id.subarray(0, 20)))
        ]
      }),
      this.ca
    )
  }

  /** Sigstore's trusted_root.json (protobuf JSON) naming this CA, log and CT log. */
  trustedRoot(): object {
    const start = this.epoch.toISOString()
    const log = (key: Key, url: string) => ({
      baseUrl: url,
      hashAlgorithm: 'SHA2_256',
      publicKey: {
        rawBytes: b64(key.spki),
        keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        validFor: { start }
      },
      logId: { keyId: b64(key.id) }
    })
    return {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [log(this.rekor, 'https://rekor.test.invalid')],
      certificateAuthorities: [
        {
          subject: { organization: 'ops-actions test', commonName: 'ops-actions test Fulcio' },
          uri: 'https://fulcio.test.invalid',
          certChain: { certificates: [{ rawBytes: b64(this.caCert) }] },
          validFor: { start }
        }
      ],
      ctlogs: [log(this.ctlog, 'https://ctfe.test.invalid')],
      timestampAuthorities: []
    }
  }

  /** A Fulcio-style leaf for `key`, with an SCT from the CT log embedded as Fulcio does. */
  private leaf(key: Key, o: SignOptions, at: Date): Buffer {
    const base = [
      ext('2.5.29.15', bits(Buffer.from([0x80]), 7), true), // digitalSignature
      ext('2.5.29.37', seq(oid('1.3.6.1.5.5.7.3.3'))), // codeSigning
      ext('2.5.29.14', octets(key.id.subarray(0, 20))),
      ext('2.5.29.35', seq(tlv(0x80, this.ca.id.subarray(0, 20)))),
      ext(
        '2.5.29.17',
        seq(
          ...(o.sans ?? [[6, o.identity]]).map(([tag, v]) =>
            tlv(0x80 + tag, Buffer.from(v, 'ascii'))
          )
        ),
        true
      ),
      ext(FULCIO_ISSUER_V1, Buffer.from(o.issuer, 'ascii')),
      ext(FULCIO_ISSUER_V2, utf8(o.issuer)),
      ...(o.sourceRepository ? [ext(FULCIO_SOURCE_REPOSITORY_URI, utf8(o.sourceRepository))] : []),
      ...(o.sourceRef ? [ext(FULCIO_SOURCE_REPOSITORY_REF, utf8(o.sourceRef))] : [])
    ]
    const fields = {
      serial: randomBytes(16),
      issuer: 'ops-actions test Fulcio',
      subject: seq(), // Fulcio leaves have an empty subject
      notBefore: at,
      notAfter: new Date(at.getTime() + 10 * 60_000),
      spki: key.spki
    }
    // RFC 6962 3.2: the CT log signs the TBS without the SCT extension, re-encoded
    const precertTbs = tbsCertificate({ ...fields, extensions: base })
    const timestamp = uint(BigInt(at.getTime()), 8)
    const signed = Buffer.concat([
      Buffer.from([0, 0]), // v1, certificate_timestamp
      timestamp,
      uint(1, 2), // precert_entry
      createHash('sha256').update(this.ca.spki).digest(),
      uint(precertTbs.length, 3),
      precertTbs,
      uint(0, 2) // no extensions
    ])
    const sig = sign('sha256', signed, this.ctlog.privateKey)
    const sct = Buffer.concat([
      Buffer.from([0]),
      this.ctlog.id,
      timestamp,
      uint(0, 2),
      Buffer.from([4, 3]), // sha256, ecdsa
      uint(sig.length, 2),
      sig
    ])
    const list = Buffer.concat([uint(sct.length + 2, 2), uint(sct.length, 2), sct])
    const sctExt = ext('1.3.6.1.4.1.11129.2.4.2', octets(list))
    return certificate(tbsCertificate({ ...fields, extensions: [...base, sctExt] }), this.ca)
  }

  /** Fulcio's PEM of a certificate, as Rekor records the verifier. */
  private static pem(cert: Buffer): string {
    return `-----BEGIN CERTIFICATE-----\n${b64(cert)
      .match(/.{1,64}/g)!
      .join('\n')}\n-----END CERTIFICATE-----\n`
  }

  /**
   * A Rekor v1 log entry for `body`: a signed entry timestamp and an inclusion proof in a
   * two-leaf Merkle tree (RFC 6962; our entry at index 1, someone else's at 0) with a signed
   * checkpoint.
   */
  private logEntry(body: Buffer, kind: string, version: string, at: Date): object {
    const logIndex = this.logIndex++
    const integratedTime = Math.floor(at.getTime() / 1000) + 1
    const entryTimestamp = sign(
      'sha256',
      Buffer.from(
        canonical({
          body: b64(body),
          integratedTime,
          logIndex,
          logID: this.rekor.id.toString('hex')
        })
      ),
      this.rekor.privateKey
    )
    const leafHash = createHash('sha256')
      .update(Buffer.from([0]))
      .update(body)
      .digest()
    const sibling = randomBytes(32)
    const rootHash = createHash('sha256')
      .update(Buffer.from([1]))
      .update(sibling)
      .update(leafHash)
      .digest()
    const note = `rekor.test.invalid - 1\n2\n${b64(rootHash)}\n`
    const noteSig = Buffer.concat([
      this.rekor.id.subarray(0, 4),
      sign('sha256', Buffer.from(note), this.rekor.privateKey)
    ])
    return {
      logIndex: String(logIndex),
      logId: { keyId: b64(this.rekor.id) },
      kindVersion: { kind, version },
      integratedTime: String(integratedTime),
      inclusionPromise: { signedEntryTimestamp: b64(entryTimestamp) },
      inclusionProof: {
        logIndex: '1',
        rootHash: b64(rootHash),
        treeSize: '2',
        hashes: [b64(sibling)],
        checkpoint: { envelope: `${note}\n\u2014 rekor.test.invalid ${b64(noteSig)}\n` }
      },
      canonicalizedBody: b64(body)
    }
  }

  private static bundle(cert: Buffer, entry: object, content: Record<string, unknown>): string {
    return JSON.stringify(
      {
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: { certificate: { rawBytes: b64(cert) }, tlogEntries: [entry] },
        ...content
      },
      null,
      2
    )
  }

  /** The v0.3 bundle `cosign sign-blob --bundle` writes for `artifact`, as JSON text. */
  sign(artifact: Buffer, o: SignOptions): string {
    const at = new Date(Math.floor((o.at ?? new Date()).getTime() / 1000) * 1000)
    const key = newKey()
    const cert = this.leaf(key, o, at)
    const digest = createHash('sha256').update(artifact).digest()
    const signature = sign('sha256', artifact, key.privateKey)
    const body = Buffer.from(
      canonical({
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
          signature: {
            content: b64(signature),
            publicKey: { content: b64(Buffer.from(TestSigstore.pem(cert))) }
          }
        }
      })
    )
    return TestSigstore.bundle(cert, this.logEntry(body, 'hashedrekord', '0.0.1', at), {
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: b64(digest) },
        signature: b64(signature)
      }
    })
  }

  /**
   * The v0.3 bundle `cosign attest-blob --bundle` writes for `artifact`: a DSSE envelope whose
   * payload is an in-toto Statement naming the artifact's SHA-256, signed over the DSSE PAE, and
   * logged as a `dsse` 0.0.1 entry (Rekor's current kind) or an `intoto` 0.0.2 one (older cosign).
   */
  attest(artifact: Buffer, o: AttestOptions): string {
    const at = new Date(Math.floor((o.at ?? new Date()).getTime() / 1000) * 1000)
    const key = newKey()
    const cert = this.leaf(key, o, at)
    const payloadType = o.payloadType ?? IN_TOTO_JSON
    const actual = createHash('sha256').update(artifact).digest('hex')
    const given = <T>(v: T | ((sha256: string) => T) | undefined) =>
      typeof v === 'function' ? (v as (sha256: string) => T)(actual) : v
    const payload = Buffer.from(
      given(o.payload) ??
        JSON.stringify({
          _type: o.statementType ?? 'https://in-toto.io/Statement/v1',
          subject: [
            {
              name: o.subjectName ?? 'artifact',
              digest: {
                sha256: given(o.subjectSha256) ?? actual
              }
            }
          ],
          predicateType: 'https://slsa.dev/provenance/v1',
          predicate: { buildDefinition: { buildType: 'https://ops-actions.test/release' } }
        })
    )
    const signature = sign('sha256', dssePae(payloadType, payload), key.privateKey)
    const envelope = {
      payload: b64(payload),
      payloadType,
      signatures: [{ sig: b64(signature), keyid: '' }]
    }
    const sha = (b: Buffer) => ({
      algorithm: 'sha256',
      value: createHash('sha256').update(b).digest('hex')
    })
    const envelopeBytes = Buffer.from(JSON.stringify(envelope))
    const verifier = b64(Buffer.from(TestSigstore.pem(cert)))
    const kind = o.tlogKind ?? 'dsse'
    const body = Buffer.from(
      canonical(
        kind === 'dsse'
          ? {
              apiVersion: '0.0.1',
              kind: 'dsse',
              spec: {
                envelopeHash: sha(envelopeBytes),
                payloadHash: sha(payload),
                signatures: [{ signature: b64(signature), verifier }]
              }
            }
          : {
              apiVersion: '0.0.2',
              kind: 'intoto',
              spec: {
                content: {
                  envelope: {
                    payloadType,
                    // Rekor's intoto 0.0.2 stores the signature base64-encoded twice
                    signatures: [{ sig: b64(Buffer.from(b64(signature))), publicKey: verifier }]
                  },
                  hash: sha(envelopeBytes),
                  payloadHash: sha(payload)
                }
              }
            }
      )
    )
    return TestSigstore.bundle(
      cert,
      this.logEntry(body, kind, kind === 'dsse' ? '0.0.1' : '0.0.2', at),
      { dsseEnvelope: envelope }
    )
  }
}
