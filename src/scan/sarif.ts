import { createHash } from 'node:crypto'
import { posix } from 'node:path'
import { gzipSync } from 'node:zlib'
import { compareFindings } from './gate.js'
import type { Finding, LineRange, TrivyReport } from './report.js'
import type { Severity } from './severity.js'
import { osPackagesPath } from './target.js'

/** GitHub code scanning upload limits (docs: "SARIF results exceed one or more limits"). */
export const GITHUB_SARIF_LIMITS = {
  resultsPerRun: 25_000,
  rulesPerRun: 25_000,
  /** The limit is 10 MB gzip-compressed; keep a margin below it. */
  gzipBytes: 9_500_000
}

export type SarifLimits = typeof GITHUB_SARIF_LIMITS

/** Trivy's mapping (`pkg/report/sarif.go`): CRITICAL/HIGH error, MEDIUM warning, rest note. */
const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  CRITICAL: 'error',
  HIGH: 'error',
  MEDIUM: 'warning',
  LOW: 'note',
  UNKNOWN: 'note'
}

/** Trivy's fallback `security-severity` when the report has no CVSS score. */
const FALLBACK_SCORE: Record<Severity, number> = {
  CRITICAL: 9.5,
  HIGH: 8.0,
  MEDIUM: 5.5,
  LOW: 2.0,
  UNKNOWN: 0.0
}

const SARIF_SCHEMA =
  'https://raw.githubusercontent.com/oasis-tcs/sarif-spec/main/sarif-2.1/schema/sarif-schema-2.1.0.json'

const MAX_TEXT = 1000

function clip(text: string | undefined, max = MAX_TEXT): string {
  if (!text) return ''
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

function ruleName(f: Finding): string {
  if (f.kind === 'vulnerability') {
    return f.resultClass === 'os-pkgs'
      ? 'OsPackageVulnerability'
      : 'LanguageSpecificPackageVulnerability'
  }
  return f.kind === 'misconfiguration'
    ? 'Misconfiguration'
    : f.kind === 'secret'
      ? 'Secret'
      : 'License'
}

export interface SarifOptions {
  limits?: SarifLimits
  /**
   * Where the scanned directory sits in the repository (`services/api` for `trivy fs
   * services/api`): Trivy writes paths relative to the scanned directory, code scanning wants
   * them relative to the repository root. Empty for images and for the repository root.
   */
  pathPrefix?: string
  /** `runAutomationDetails.id` category, so several scans in one workflow keep their alerts apart. */
  category?: string
}

/** Trivy's `clearURI` for Windows separators, then the repository prefix where there is one. */
function withPrefix(path: string, prefix: string | undefined): string {
  const slashed = path.replace(/\\/g, '/')
  if (!prefix || /^[a-z][a-z0-9+.-]*:/i.test(slashed) || slashed.startsWith('/')) return slashed
  return posix.normalize(posix.join(prefix, slashed))
}

/**
 * The repository path code scanning shows a finding at: the lockfile, IaC file or file holding
 * a secret; for OS packages the image repository without its tag (Trivy's ToPathUri), so a new
 * tag keeps the same alerts.
 */
export function findingPath(f: Finding, pathPrefix?: string): string {
  if (f.resultClass === 'os-pkgs') return osPackagesPath(f.pkgPath ?? f.target)
  return withPrefix(f.pkgPath ?? f.target, pathPrefix)
}

function regions(f: Finding): LineRange[] {
  if (f.locations && f.locations.length > 0) return f.locations
  const startLine = f.startLine && f.startLine > 0 ? f.startLine : 1
  const endLine = f.endLine && f.endLine >= startLine ? f.endLine : startLine
  return [{ startLine, endLine }]
}

/**
 * A stable identity for code scanning to track an alert across commits: rule, path, package
 * or IaC resource; never the line, the installed version or the image tag, which all move.
 * Findings that would still collide are numbered in line order.
 */
interface Placed {
  uri: string
  fingerprint: string
}

/** Path and fingerprint of every finding, once, in the stable order (not per SARIF attempt). */
function place(sorted: Finding[], pathPrefix?: string): Map<Finding, Placed> {
  const seen = new Map<string, number>()
  const placed = new Map<Finding, Placed>()
  for (const f of sorted) {
    const uri = findingPath(f, pathPrefix)
    const base = JSON.stringify([f.kind, f.id, uri, f.pkgName ?? '', f.resource ?? ''])
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    const fingerprint = createHash('sha256')
      .update(n === 0 ? base : `${base}#${n}`)
      .digest('hex')
    placed.set(f, { uri, fingerprint })
  }
  return placed
}

function describe(f: Finding): string {
  const lines =
    f.kind === 'vulnerability'
      ? [
          `Package: ${f.pkgName ?? ''}`,
          `Installed Version: ${f.installed ?? ''}`,
          `Vulnerability ${f.id}`,
          `Severity: ${f.severity}`,
          `Fixed Version: ${f.fixed ?? ''}`
        ]
      : [`${f.title}`, `Severity: ${f.severity}`, clip(f.description, 300)]
  if (f.url) lines.push(`Link: [${f.id}](${f.url})`)
  return lines.filter(Boolean).join('\n')
}

function rule(f: Finding): object {
  const score = f.score ?? FALLBACK_SCORE[f.severity]
  return {
    id: f.id,
    name: ruleName(f),
    shortDescription: { text: clip(f.title, 300) },
    fullDescription: { text: clip(f.description) || clip(f.title, 300) },
    defaultConfiguration: { level: LEVEL[f.severity] },
    ...(f.url ? { helpUri: f.url } : {}),
    help: {
      text: `${f.kind === 'vulnerability' ? 'Vulnerability' : f.title} ${f.id}\nSeverity: ${f.severity}`
    },
    properties: {
      precision: 'very-high',
      'security-severity': score.toFixed(1),
      tags: [f.kind, 'security', f.severity]
    }
  }
}

/** The key GitHub reads our fingerprint under; bump the version if its material changes. */
export const FINGERPRINT_KEY = 'trivyFinding/v1'

function result(f: Finding, ruleIndex: number, { uri, fingerprint }: Placed): object {
  const text = f.pkgName ? `${uri}: ${f.pkgName}@${f.installed ?? ''}` : uri
  return {
    ruleId: f.id,
    ruleIndex,
    level: LEVEL[f.severity],
    message: { text: describe(f) },
    locations: regions(f).map(({ startLine, endLine }) => ({
      physicalLocation: {
        artifactLocation: { uri, uriBaseId: 'ROOTPATH' },
        region: { startLine, startColumn: 1, endLine, endColumn: 1 }
      },
      message: { text }
    })),
    partialFingerprints: { [FINGERPRINT_KEY]: fingerprint }
  }
}

/** Picks the most severe findings that fit the result and rule counts, in order. */
function selectWithinCounts(sorted: Finding[], limits: SarifLimits, max: number): Finding[] {
  const chosen: Finding[] = []
  const rules = new Set<string>()
  for (const f of sorted) {
    if (chosen.length >= Math.min(max, limits.resultsPerRun)) break
    if (!rules.has(f.id)) {
      if (rules.size >= limits.rulesPerRun) continue
      rules.add(f.id)
    }
    chosen.push(f)
  }
  return chosen
}

/** Exactly JSON.stringify of the SARIF document, emitted a rule and a result at a time. */
function emitSarif(
  findings: Finding[],
  report: TrivyReport,
  options: SarifOptions,
  placed: Map<Finding, Placed>,
  emit: (text: string) => void
): void {
  const ruleIndex = new Map<string, number>()
  const ordered: Finding[] = []
  for (const f of findings) {
    if (ruleIndex.has(f.id)) continue
    ruleIndex.set(f.id, ordered.length)
    ordered.push(f)
  }
  emit(
    `{"version":"2.1.0","$schema":${JSON.stringify(SARIF_SCHEMA)},"runs":[{"tool":{"driver":{` +
      `"fullName":"Trivy Vulnerability Scanner","informationUri":"https://github.com/aquasecurity/trivy",` +
      `"name":"Trivy","rules":[`
  )
  ordered.forEach((f, i) => emit((i ? ',' : '') + JSON.stringify(rule(f))))
  emit(`],"version":${JSON.stringify(report.Trivy?.Version ?? 'unknown')}}},"results":[`)
  findings.forEach((f, i) =>
    emit((i ? ',' : '') + JSON.stringify(result(f, ruleIndex.get(f.id) as number, placed.get(f)!)))
  )
  const properties = { artifactName: report.ArtifactName, artifactType: report.ArtifactType }
  // The id's part before its last `/` is the category; code scanning keeps one set per category.
  const automation = options.category
    ? `,"automationDetails":${JSON.stringify({ id: `${options.category}/` })}`
    : ''
  emit(`]${automation},"columnKind":"utf16CodeUnits","properties":${JSON.stringify(properties)}}]}`)
}

/**
 * The SARIF as UTF-8 bytes, gzip-measured as is. Emitted twice, to size the buffer and then to
 * fill it: no object tree per result, no growing buffer's discarded copies, no copy for gzip.
 */
function render(
  findings: Finding[],
  report: TrivyReport,
  options: SarifOptions,
  placed: Map<Finding, Placed>
): Buffer {
  let size = 0
  emitSarif(findings, report, options, placed, (text) => (size += Buffer.byteLength(text)))
  const bytes = Buffer.allocUnsafe(size)
  let at = 0
  emitSarif(findings, report, options, placed, (text) => (at += bytes.write(text, at)))
  return bytes
}

export interface SarifOutput {
  text: string
  included: number
  omitted: number
  gzipBytes: number
}

/**
 * SARIF 2.1.0 of every finding (all severities), cut to GitHub's limits by dropping the least
 * severe findings first. Level 1 gzip overestimates the size GitHub computes, so it is safe.
 */
export function buildSarif(
  findings: Finding[],
  report: TrivyReport,
  options: SarifOptions = {}
): SarifOutput {
  const limits = options.limits ?? GITHUB_SARIF_LIMITS
  const sorted = [...findings].sort(compareFindings)
  const placed = place(sorted, options.pathPrefix)
  let max = sorted.length
  for (let attempt = 0; attempt < 8; attempt++) {
    const chosen = selectWithinCounts(sorted, limits, max)
    const bytes = render(chosen, report, options, placed)
    const gzipBytes = gzipSync(bytes, { level: 1 }).length
    if (gzipBytes <= limits.gzipBytes || chosen.length === 0) {
      return {
        text: bytes.toString('utf8'),
        included: chosen.length,
        omitted: findings.length - chosen.length,
        gzipBytes
      }
    }
    max = Math.floor((chosen.length * limits.gzipBytes * 0.9) / gzipBytes)
  }
  const bytes = render([], report, options, placed)
  return {
    text: bytes.toString('utf8'),
    included: 0,
    omitted: findings.length,
    gzipBytes: gzipSync(bytes).length
  }
}
