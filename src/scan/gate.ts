import type { Finding } from './report.js'
import { SEVERITIES, severityRank, type Severity } from './severity.js'

export interface GateOptions {
  /** Severities that fail the gate (e.g. CRITICAL and HIGH). */
  severities: Set<Severity>
}

export interface FindingCounts {
  critical: number
  high: number
  medium: number
  low: number
  unknown: number
  /** Vulnerabilities with a fixed version available. */
  fixable: number
  secrets: number
  misconfigurations: number
  licenses: number
  vulnerabilities: number
  total: number
}

export interface GateResult {
  counts: FindingCounts
  /** Findings at a gated severity, most severe first. */
  failing: Finding[]
  passed: boolean
}

/**
 * `--ignore-unfixed` as Trivy means it (pkg/flag/vulnerability_flags.go): every status but
 * `fixed` is dropped, so `will_not_fix`, `end_of_life` or `affected` go even when the advisory
 * names a version. Reports older than statuses (Trivy < 0.35, no `Status`) fall back to
 * FixedVersion, which keeps more findings rather than silently passing a gate.
 */
export function isUnfixed(f: Finding): boolean {
  if (f.kind !== 'vulnerability') return false
  return f.status !== undefined ? f.status !== 'fixed' : f.fixed === undefined
}

export function dropUnfixed(findings: Finding[]): Finding[] {
  return findings.filter((f) => !isUnfixed(f))
}

export function countFindings(findings: Finding[]): FindingCounts {
  const counts: FindingCounts = {
    critical: 0,
    high: 0,
    medium: 0,
    low: 0,
    unknown: 0,
    fixable: 0,
    secrets: 0,
    misconfigurations: 0,
    licenses: 0,
    vulnerabilities: 0,
    total: findings.length
  }
  for (const f of findings) {
    counts[f.severity.toLowerCase() as Lowercase<Severity>]++
    if (f.kind === 'vulnerability') {
      counts.vulnerabilities++
      if (f.fixed !== undefined) counts.fixable++
    } else if (f.kind === 'secret') counts.secrets++
    else if (f.kind === 'misconfiguration') counts.misconfigurations++
    else counts.licenses++
  }
  return counts
}

/** Most severe first, then by ID and target, so tables and SARIF are stable run to run. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    severityRank(a.severity) - severityRank(b.severity) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) ||
    (a.target < b.target ? -1 : a.target > b.target ? 1 : 0)
  )
}

/** Judges the (already filtered) findings: the gate fails on any finding at a gated severity. */
export function evaluateGate(findings: Finding[], options: GateOptions): GateResult {
  const failing = findings.filter((f) => options.severities.has(f.severity)).sort(compareFindings)
  return { counts: countFindings(findings), failing, passed: failing.length === 0 }
}

/** `2 CRITICAL, 5 HIGH` for messages. */
export function describeBySeverity(findings: Finding[]): string {
  return SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ')
}
