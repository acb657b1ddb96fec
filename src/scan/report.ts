import { ToolError } from '../core/errors.js'
import { toSeverity, type Severity } from './severity.js'

/**
 * The parts of Trivy's JSON report (SchemaVersion 2, `pkg/types/report.go`) that we read.
 * Nearly every key is `omitempty` upstream, so everything but `Target` is optional.
 */
export interface TrivyReport {
  SchemaVersion: number
  Trivy?: { Version?: string }
  ArtifactName?: string
  ArtifactType?: string
  Metadata?: { OS?: { Family?: string; Name?: string; Eosl?: boolean } }
  Results?: TrivyResult[]
}

export interface TrivyResult {
  Target: string
  Class?: string
  Type?: string
  Vulnerabilities?: TrivyVulnerability[]
  Misconfigurations?: TrivyMisconfiguration[]
  Secrets?: TrivySecret[]
  Licenses?: TrivyLicense[]
}

export interface TrivyVulnerability {
  VulnerabilityID: string
  PkgName?: string
  PkgPath?: string
  PkgIdentifier?: { PURL?: string }
  InstalledVersion?: string
  FixedVersion?: string
  Status?: string
  SeveritySource?: string
  PrimaryURL?: string
  Title?: string
  Description?: string
  Severity?: string
  CVSS?: Record<string, { V3Score?: number; V40Score?: number }>
}

export interface TrivyMisconfiguration {
  ID: string
  AVDID?: string
  Title?: string
  Message?: string
  Description?: string
  Resolution?: string
  Severity?: string
  PrimaryURL?: string
  Status?: string
  CauseMetadata?: { StartLine?: number; EndLine?: number; Resource?: string }
}

export interface TrivySecret {
  RuleID: string
  Category?: string
  Severity?: string
  Title?: string
  StartLine?: number
  EndLine?: number
}

export interface TrivyLicense {
  Name: string
  Severity?: string
  Category?: string
  PkgName?: string
  FilePath?: string
  Link?: string
}

export type FindingKind = 'vulnerability' | 'misconfiguration' | 'secret' | 'license'

/** One finding of any kind, flattened out of a Result: what the gate, summary and SARIF use. */
export interface Finding {
  kind: FindingKind
  id: string
  severity: Severity
  /** Result.Target: the image layer OS, lockfile, IaC file or file holding a secret. */
  target: string
  resultClass?: string
  title: string
  description?: string
  url?: string
  pkgName?: string
  pkgPath?: string
  purl?: string
  installed?: string
  fixed?: string
  status?: string
  startLine?: number
  endLine?: number
  /** CVSS v3 (or v4) score from the source that set the severity, when the report has one. */
  score?: number
}

/** Parses Trivy JSON output; anything else (SARIF, a table, truncated JSON) is a ToolError. */
export function parseReport(text: string, source: string): TrivyReport {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (error) {
    const hint = text.trim() === '' ? 'the file is empty' : (error as Error).message
    throw new ToolError(`${source} is not a Trivy JSON report: ${hint}`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ToolError(`${source} is not a Trivy JSON report: expected a JSON object`)
  }
  const report = doc as Record<string, unknown>
  if ('runs' in report && 'version' in report) {
    throw new ToolError(`${source} is a SARIF file; give the Trivy JSON report (--format json)`)
  }
  if (report.SchemaVersion !== 2) {
    throw new ToolError(
      `${source}: SchemaVersion ${JSON.stringify(report.SchemaVersion)} is not supported; expected 2 (Trivy >= 0.20)`
    )
  }
  if (report.Results !== undefined && !Array.isArray(report.Results)) {
    throw new ToolError(`${source}: \`Results\` is not an array`)
  }
  for (const [i, result] of ((report.Results as unknown[]) ?? []).entries()) {
    if (
      typeof result !== 'object' ||
      result === null ||
      typeof (result as TrivyResult).Target !== 'string'
    ) {
      throw new ToolError(`${source}: Results[${i}] has no \`Target\``)
    }
  }
  return doc as TrivyReport
}

function cvssScore(v: TrivyVulnerability): number | undefined {
  const cvss = v.SeveritySource ? v.CVSS?.[v.SeveritySource] : undefined
  return cvss?.V3Score ?? cvss?.V40Score
}

/** Every finding in the report; misconfigurations only when they FAIL (PASS/EXCEPTION are not findings). */
export function collectFindings(report: TrivyReport): Finding[] {
  const findings: Finding[] = []
  for (const r of report.Results ?? []) {
    // Explicit fields, not `...base`: spreading into 50,000 literals is 10x slower in V8.
    const target = r.Target
    const resultClass = r.Class
    for (const v of r.Vulnerabilities ?? []) {
      findings.push({
        target,
        resultClass,
        kind: 'vulnerability',
        id: v.VulnerabilityID,
        severity: toSeverity(v.Severity),
        title: v.Title ?? v.VulnerabilityID,
        description: v.Description,
        url: v.PrimaryURL,
        pkgName: v.PkgName,
        pkgPath: v.PkgPath,
        purl: v.PkgIdentifier?.PURL,
        installed: v.InstalledVersion,
        fixed: v.FixedVersion || undefined,
        status: v.Status,
        score: cvssScore(v)
      })
    }
    for (const m of r.Misconfigurations ?? []) {
      if (m.Status !== undefined && m.Status !== 'FAIL') continue
      findings.push({
        target,
        resultClass,
        kind: 'misconfiguration',
        id: m.ID || m.AVDID || 'unknown-check',
        severity: toSeverity(m.Severity),
        title: m.Title ?? m.ID,
        description: [m.Message, m.Resolution].filter(Boolean).join(' - ') || m.Description,
        url: m.PrimaryURL,
        startLine: m.CauseMetadata?.StartLine,
        endLine: m.CauseMetadata?.EndLine
      })
    }
    for (const s of r.Secrets ?? []) {
      findings.push({
        target,
        resultClass,
        kind: 'secret',
        id: s.RuleID,
        severity: toSeverity(s.Severity),
        title: s.Title ?? s.RuleID,
        description: s.Category ? `${s.Category} secret` : undefined,
        startLine: s.StartLine,
        endLine: s.EndLine
      })
    }
    for (const l of r.Licenses ?? []) {
      findings.push({
        target,
        resultClass,
        kind: 'license',
        id: l.Name,
        severity: toSeverity(l.Severity),
        title: `${l.Category ?? 'restricted'} license ${l.Name}`,
        url: l.Link || undefined,
        pkgName: l.PkgName,
        pkgPath: l.FilePath || undefined
      })
    }
  }
  return findings
}
