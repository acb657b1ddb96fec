import { ConfigurationError, ToolError } from '../core/errors.js'

/** Pinned, never `latest`: the version trivy-action defaulted to at df678db (2026-06-30). */
export const DEFAULT_TRIVY_VERSION = '0.72.0'

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
