import { gzipSync } from 'node:zlib'
import { compareFindings } from './gate.js'
import type { Finding, TrivyReport } from './report.js'
import type { Severity } from './severity.js'

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

/** Code scanning wants a file path: the lockfile/IaC file, or the image name for OS packages. */
function locationUri(f: Finding, report: TrivyReport): string {
  if (f.resultClass === 'os-pkgs') return report.ArtifactName ?? f.target
  return f.pkgPath ?? f.target
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

function result(f: Finding, ruleIndex: number, report: TrivyReport): object {
  const startLine = f.startLine && f.startLine > 0 ? f.startLine : 1
  const endLine = f.endLine && f.endLine >= startLine ? f.endLine : startLine
  const uri = locationUri(f, report)
  return {
    ruleId: f.id,
    ruleIndex,
    level: LEVEL[f.severity],
    message: { text: describe(f) },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri, uriBaseId: 'ROOTPATH' },
          region: { startLine, startColumn: 1, endLine, endColumn: 1 }
        },
        message: { text: f.pkgName ? `${uri}: ${f.pkgName}@${f.installed ?? ''}` : uri }
      }
    ]
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
function emitSarif(findings: Finding[], report: TrivyReport, emit: (text: string) => void): void {
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
    emit((i ? ',' : '') + JSON.stringify(result(f, ruleIndex.get(f.id) as number, report)))
  )
  const properties = { artifactName: report.ArtifactName, artifactType: report.ArtifactType }
  emit(`],"columnKind":"utf16CodeUnits","properties":${JSON.stringify(properties)}}]}`)
}

/**
 * The SARIF as UTF-8 bytes, gzip-measured as is. Emitted twice, to size the buffer and then to
 * fill it: no object tree per result, no growing buffer's discarded copies, no copy for gzip.
 */
function render(findings: Finding[], report: TrivyReport): Buffer {
  let size = 0
  emitSarif(findings, report, (text) => (size += Buffer.byteLength(text)))
  const bytes = Buffer.allocUnsafe(size)
  let at = 0
  emitSarif(findings, report, (text) => (at += bytes.write(text, at)))
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
  limits: SarifLimits = GITHUB_SARIF_LIMITS
): SarifOutput {
  const sorted = [...findings].sort(compareFindings)
  let max = sorted.length
  for (let attempt = 0; attempt < 8; attempt++) {
    const chosen = selectWithinCounts(sorted, limits, max)
    const bytes = render(chosen, report)
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
  const bytes = render([], report)
  return {
    text: bytes.toString('utf8'),
    included: 0,
    omitted: findings.length,
    gzipBytes: gzipSync(bytes).length
  }
}
