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

function render(findings: Finding[], report: TrivyReport): string {
  const ruleIndex = new Map<string, number>()
  const rules: object[] = []
  const results: object[] = []
  for (const f of findings) {
    let index = ruleIndex.get(f.id)
    if (index === undefined) {
      index = rules.length
      ruleIndex.set(f.id, index)
      rules.push(rule(f))
    }
    results.push(result(f, index, report))
  }
  return JSON.stringify({
    version: '2.1.0',
    $schema:
      'https://raw.githubusercontent.com/oasis-tcs/sarif-spec/main/sarif-2.1/schema/sarif-schema-2.1.0.json',
    runs: [
      {
        tool: {
          driver: {
            fullName: 'Trivy Vulnerability Scanner',
            informationUri: 'https://github.com/aquasecurity/trivy',
            name: 'Trivy',
            rules,
            version: report.Trivy?.Version ?? 'unknown'
          }
        },
        results,
        columnKind: 'utf16CodeUnits',
        properties: { artifactName: report.ArtifactName, artifactType: report.ArtifactType }
      }
    ]
  })
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
    const text = render(chosen, report)
    const gzipBytes = gzipSync(text, { level: 1 }).length
    if (gzipBytes <= limits.gzipBytes || chosen.length === 0) {
      return { text, included: chosen.length, omitted: findings.length - chosen.length, gzipBytes }
    }
    max = Math.floor((chosen.length * limits.gzipBytes * 0.9) / gzipBytes)
  }
  const text = render([], report)
  return { text, included: 0, omitted: findings.length, gzipBytes: gzipSync(text).length }
}
