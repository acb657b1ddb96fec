import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigurationError } from '../../core/errors.js'
import { requireTogether, type Inputs } from '../../core/inputs.js'
import { parseSeverityList, type Severity } from '../../scan/severity.js'
import { DEFAULT_TRIVY_VERSION, parseTrivyVersion } from '../../scan/trivy-release.js'
import { SCAN_TYPES, SCANNERS_BY_TYPE, type Scanner, type ScanType } from '../../scan/trivy.js'

export interface ScanInputs {
  scanType: ScanType
  target?: string
  severities: Set<Severity>
  ignoreUnfixed: boolean
  scanners: Scanner[]
  ignoreFile?: string
  failOnFindings: boolean
  trivyVersion: string
  trivyPath?: string
  cache: boolean
  reportFile?: string
  sarifFile?: string
  issue: boolean
  githubToken?: string
  /** Plan only: nothing downloaded, scanned, gated or written. */
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

/** Every input, validated, before anything is downloaded or run. */
export function readScanInputs(inputs: Inputs): ScanInputs {
  const scanType = inputs.enum('scan-type', SCAN_TYPES, 'image')
  const reportFile = existingFile(inputs, 'report-file')
  const target = reportFile ? inputs.optional('target') : inputs.required('target')
  const issue = inputs.boolean('issue', false)
  if (issue) requireTogether(inputs, '`issue` is true', ['github-token'])
  const severity = inputs.list('severity')
  return {
    scanType,
    target,
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
    trivyPath: existingFile(inputs, 'trivy-path'),
    cache: inputs.boolean('cache', true),
    reportFile,
    sarifFile: inputs.optional('sarif-file'),
    issue,
    githubToken: inputs.optional('github-token'),
    dryRun: inputs.boolean('dry-run', false)
  }
}
