import { ConfigurationError, ToolError } from '../core/errors.js'

/**
 * Pinned, never `latest`. 0.74.0: the release the Go module proxy serves, built into the lab's
 * engines cache, so the argv, flags, exit codes and report shape the tests check are the
 * default's own (0.72.0 before: trivy-action's default at df678db).
 */
export const DEFAULT_TRIVY_VERSION = '0.74.0'

/**
 * SHA-256 of each supported release archive, embedded so an install trusts nothing fetched
 * from the same place as the archive (a checksums file published next to a swapped archive
 * vouches for nothing, as the March 2026 re-published tags showed). Taken from the releases'
 * `trivy_<v>_checksums.txt`; other versions need `trivy-sha256`.
 */
export const KNOWN_GOOD_ARCHIVES: Record<string, Record<string, string>> = {
  '0.72.0': {
    'trivy_0.72.0_Linux-64bit.tar.gz':
      'bbb64b9695866ce4a7a8f5c9592002c5961cab378577fa3f8a040df362b9b2ea',
    'trivy_0.72.0_Linux-ARM64.tar.gz':
      '2ca2c023109c2db6b2b77366b6717291452d4531167377d95c79547f0c8e3467',
    'trivy_0.72.0_macOS-64bit.tar.gz':
      'ee5e60df8a98e5b89fd74a6d86f9e5c7e9a266a35002cb1e43291698b3bfee08',
    'trivy_0.72.0_macOS-ARM64.tar.gz':
      '88f208680dc05da2b459e19b4f5aa2b4dc7c2117892ba4aab2ae63baba330016'
  },
  '0.74.0': {
    'trivy_0.74.0_Linux-64bit.tar.gz':
      '2ae6fe3ee734b7fdf11335663e18c75ea12dccc76062f09f164a3b0f8be4371a',
    'trivy_0.74.0_Linux-ARM64.tar.gz':
      'b94ce1976bbf3c15b514b605ee88be7c6d94a29be2302847ff01cb794d47aad5',
    'trivy_0.74.0_macOS-64bit.tar.gz':
      '472816f6888dda689d075c30254d4210b4d1035acf365aa72332f584c2f60485',
    'trivy_0.74.0_macOS-ARM64.tar.gz':
      '1caada5e0e2091909357c7525d3aa76f4b660b13821bc143b190c7483e31cc11'
  }
}

/** The embedded digest of a release archive, if this version is one we vouch for. */
export function knownGoodSha256(version: string, asset: string): string | undefined {
  return KNOWN_GOOD_ARCHIVES[version]?.[asset]
}

/** `trivy-sha256`: 64 hex digits, or nothing. */
export function parseSha256(input: string, raw: string): string {
  const value = raw.trim().toLowerCase()
  if (!/^[0-9a-f]{64}$/.test(value)) {
    throw new ConfigurationError(
      `input \`${input}\` = \`${raw}\`: expected the SHA-256 of the release archive, 64 hex digits`,
      input
    )
  }
  return value
}

/**
 * Releases we refuse to install or run. v0.69.4 was published by the attacker who hijacked
 * trivy-action's tags in March 2026 (GHSA-69fq-xp46-6x23, CVE-2026-33634).
 */
export const COMPROMISED_TRIVY_VERSIONS: Record<string, string> = {
  '0.69.4':
    'malicious release published in the March 2026 supply-chain attack (GHSA-69fq-xp46-6x23)'
}

export const TRIVY_RELEASES_URL = 'https://github.com/aquasecurity/trivy/releases/download'

/** `v0.72.0` or `0.72.0` -> `0.72.0`; refuses ranges, `latest` and compromised versions. */
export function parseTrivyVersion(input: string, raw: string): string {
  const m = /^v?(\d+\.\d+\.\d+)$/.exec(raw.trim())
  if (!m) {
    throw new ConfigurationError(
      `input \`${input}\` = \`${raw}\`: expected an exact release such as ${DEFAULT_TRIVY_VERSION} (no ranges, no \`latest\`: a pinned version is what makes the install reproducible and verifiable)`,
      input
    )
  }
  refuseCompromised(
    m[1],
    (why) => new ConfigurationError(`input \`${input}\` = \`${raw}\`: ${why}`, input)
  )
  return m[1]
}

export function refuseCompromised(
  version: string,
  toError: (why: string) => Error = (w) => new ToolError(w)
): void {
  const reason = COMPROMISED_TRIVY_VERSIONS[version.replace(/^v/, '')]
  if (reason) throw toError(`Trivy ${version} is refused: ${reason}; use ${DEFAULT_TRIVY_VERSION}`)
}

/** The release asset for this machine, as named in Trivy's goreleaser config. */
export function releaseAssetName(version: string, platform: NodeJS.Platform, arch: string): string {
  const os = { linux: 'Linux', darwin: 'macOS' }[platform as string]
  const cpu = { x64: '64bit', arm64: 'ARM64' }[arch]
  if (!os || !cpu) {
    throw new ToolError(
      `no Trivy release for ${platform}/${arch} is supported here; give \`trivy-path\` to an installed binary`
    )
  }
  return `trivy_${version}_${os}-${cpu}.tar.gz`
}

export function checksumsAssetName(version: string): string {
  return `trivy_${version}_checksums.txt`
}

/** `sha256  file` lines of `trivy_<v>_checksums.txt` -> file name to lowercase hex digest. */
export function parseChecksums(text: string): Map<string, string> {
  const sums = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(\S+)$/.exec(line.trim())
    if (m) sums.set(m[2], m[1].toLowerCase())
  }
  return sums
}
