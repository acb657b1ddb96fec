import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigurationError } from '../../core/errors.js'
import { requireTogether, type Inputs } from '../../core/inputs.js'
import { parseSeverityList, type Severity } from '../../scan/severity.js'
import { DEFAULT_TIMEOUT_MS, type ScanOptions } from '../../scan/scan.js'
import { DEFAULT_TRIVY_VERSION, parseSha256, parseTrivyVersion } from '../../scan/trivy-release.js'
import {
  DEFAULT_SIGNATURE_POLICY,
  SIGNATURE_POLICIES,
  type SignaturePolicy
} from '../../scan/trivy-signature.js'
import {
  SCAN_TYPES,
  SCANNERS_BY_TYPE,
  type Scanner,
  type ScanType,
  type TrivySources
} from '../../scan/trivy.js'

/** What the scan takes as it is comes from ScanOptions; the rest is the action's own. */
export interface ScanInputs
  extends
    Pick<ScanOptions, 'scanType' | 'target' | 'input' | 'scanners' | 'trivyPath'>,
    Required<Pick<ScanOptions, 'timeoutMs' | 'skipDirs' | 'skipFiles' | 'offline'>>,
    Required<Pick<TrivySources, 'dbRepositories' | 'javaDbRepositories'>>,
    Pick<TrivySources, 'checksBundleRepository'>,
    Partial<Pick<ScanOptions, 'cacheDir'>> {
  severities: Set<Severity>
  ignoreUnfixed: boolean
  ignoreFile?: string
  failOnFindings: boolean
  trivyVersion: string
  /** The archive digest the user vouches for, for a version the action embeds none for. */
  trivySha256?: string
  /** What to do with the release's Sigstore bundle. */
  trivySignature: SignaturePolicy
  /** A trusted_root.json instead of Sigstore's public-good one. */
  trivyTrustedRoot?: string
  trivyConfig?: string
  /** SARIF only of the gate's severities (trivy-action's limit-severities-for-sarif). */
  limitSeveritiesForSarif: boolean
  sarifCategory?: string
  cache: boolean
  reportFile?: string
  sarifFile?: string
  issue: boolean
  githubToken?: string
  /** Preview only: nothing downloaded, scanned, gated or written. */
  dryRun: boolean
}

/** Without `ignore-file`, the files Trivy users already keep at the root are picked up. */
const DEFAULT_IGNORE_FILES = ['.trivyignore.yaml', '.trivyignore.yml', '.trivyignore']

function parseScanners(inputs: Inputs, scanType: ScanType): Scanner[] {
  const { allowed, default: fallback } = SCANNERS_BY_TYPE[scanType]
  const items = inputs.list('scanners')
  if (items.length === 0) return fallback
  for (const item of items) {
    if (!(allowed as string[]).includes(item)) {
      throw new ConfigurationError(
        `input \`scanners\` = \`${items.join(',')}\`: \`${item}\` is not available for scan-type \`${scanType}\`; expected any of ${allowed.join(', ')}`,
        'scanners'
      )
    }
  }
  return [...new Set(items)] as Scanner[]
}

function existingFile(inputs: Inputs, name: string): string | undefined {
  const value = inputs.optional(name)
  if (value === undefined) return undefined
  const path = resolve(value)
  if (!existsSync(path)) {
    throw new ConfigurationError(
      `input \`${name}\` = \`${value}\`: no such file (looked at ${path})`,
      name
    )
  }
  return path
}

/** An OCI repository for Trivy's DBs: `host[:port]/path`, no scheme, no spaces, no flag. */
function repositories(inputs: Inputs, name: string): string[] {
  const items = inputs.list(name)
  for (const item of items) {
    if (!/^[a-z0-9][a-z0-9.-]*(?::\d+)?(?:\/[a-z0-9._-]+)+(?::[\w][\w.-]*)?$/.test(item)) {
      throw new ConfigurationError(
        `input \`${name}\` = \`${items.join(',')}\`: \`${item}\` is not an OCI repository; expected host/path such as ghcr.io/aquasecurity/trivy-db (comma separated, in order of priority)`,
        name
      )
    }
  }
  return items
}

/** skip-dirs / skip-files: globs; never a flag, never a line break. */
function globs(inputs: Inputs, name: string): string[] {
  const items = inputs.list(name)
  for (const item of items) {
    if (item.startsWith('-')) {
      throw new ConfigurationError(
        `input \`${name}\` = \`${item}\`: a path or glob cannot start with \`-\``,
        name
      )
    }
  }
  return items
}

function timeout(inputs: Inputs): number {
  const ms = inputs.duration('timeout', `${DEFAULT_TIMEOUT_MS / 60_000}m`)
  if (ms < 1000 || ms > 6 * 3_600_000) {
    throw new ConfigurationError(
      `input \`timeout\` = \`${inputs.raw('timeout')}\`: expected a duration from 1s to 6h (a GitHub job's limit), such as 30m`,
      'timeout'
    )
  }
  return ms
}

/** Every input, validated, before anything is downloaded or run. */
export function readScanInputs(inputs: Inputs): ScanInputs {
  const scanType = inputs.enum('scan-type', SCAN_TYPES, 'image')
  const reportFile = existingFile(inputs, 'report-file')
  const input = existingFile(inputs, 'input')
  if (input && scanType !== 'image') {
    throw new ConfigurationError(
      `input \`input\` = \`${inputs.raw('input')}\`: an image tar is scanned with scan-type \`image\`, not \`${scanType}\``,
      'input'
    )
  }
  const target = reportFile || input ? inputs.optional('target') : inputs.required('target')
  if (input && target) {
    throw new ConfigurationError(
      `inputs \`input\` and \`target\` are both set: give the image tar or the image reference, not both`,
      'input'
    )
  }
  const sha = inputs.optional('trivy-sha256')
  const issue = inputs.boolean('issue', false)
  if (issue) requireTogether(inputs, '`issue` is true', ['github-token'])
  const severity = inputs.list('severity')
  return {
    scanType,
    target,
    input,
    severities: parseSeverityList('severity', severity.length ? severity : ['CRITICAL', 'HIGH']),
    ignoreUnfixed: inputs.boolean('ignore-unfixed', false),
    scanners: parseScanners(inputs, scanType),
    ignoreFile:
      existingFile(inputs, 'ignore-file') ??
      DEFAULT_IGNORE_FILES.map((f) => resolve(f)).find(existsSync),
    failOnFindings: inputs.boolean('fail-on-findings', true),
    trivyVersion: parseTrivyVersion(
      'trivy-version',
      inputs.optional('trivy-version') ?? DEFAULT_TRIVY_VERSION
    ),
    trivySha256: sha ? parseSha256('trivy-sha256', sha) : undefined,
    trivySignature: inputs.enum('trivy-signature', SIGNATURE_POLICIES, DEFAULT_SIGNATURE_POLICY),
    trivyTrustedRoot: existingFile(inputs, 'trivy-trusted-root'),
    trivyPath: existingFile(inputs, 'trivy-path'),
    timeoutMs: timeout(inputs),
    skipDirs: globs(inputs, 'skip-dirs'),
    skipFiles: globs(inputs, 'skip-files'),
    trivyConfig: existingFile(inputs, 'trivy-config'),
    dbRepositories: repositories(inputs, 'db-repository'),
    javaDbRepositories: repositories(inputs, 'java-db-repository'),
    checksBundleRepository: repositories(inputs, 'checks-bundle-repository')[0],
    offline: inputs.boolean('offline', false),
    cacheDir: inputs.optional('cache-dir') ? resolve(inputs.optional('cache-dir')!) : undefined,
    limitSeveritiesForSarif: inputs.boolean('limit-severities-for-sarif', false),
    sarifCategory: inputs.optional('sarif-category'),
    cache: inputs.boolean('cache', true),
    reportFile,
    sarifFile: inputs.optional('sarif-file'),
    issue,
    githubToken: inputs.optional('github-token'),
    dryRun: inputs.boolean('dry-run', false)
  }
}
