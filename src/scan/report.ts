import { ToolError } from '../core/errors.js'
import { BYTES, JsonReader, JsonSyntaxError } from '../json/reader.js'
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
  /** Installed packages (`--list-all-pkgs`, on by default for JSON): where a lockfile lists each. */
  Packages?: TrivyPackage[]
}

export interface TrivyPackage {
  Name?: string
  Version?: string
  Locations?: { StartLine?: number; EndLine?: number }[]
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

export interface LineRange {
  startLine: number
  endLine: number
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
  /** Every place a lockfile lists the vulnerable package (Packages[].Locations), first is primary. */
  locations?: LineRange[]
  /** The IaC resource a check failed on (`aws_s3_bucket.logs`): stable where lines move. */
  resource?: string
  /** CVSS v3 (or v4) score from the source that set the severity, when the report has one. */
  score?: number
  /** Other IDs of a misconfiguration check (AVD-DS-0002, DS002) that ignore files may use. */
  aliases?: string[]
}

/**
 * The IDs Trivy's ignore filter accepts for a check: ID, AVDID and the check's aliases. The JSON
 * report hides the aliases (`json:"-"`) and 0.74 writes no AVDID, so they are derived as the
 * checks name them: `AVD-DS-0002`, and the legacy `DS002` (KCV keeps 4 digits: `KCV0088`).
 */
export function checkAliases(id: string, avdId?: string): string[] {
  const ids = new Set<string>([id])
  if (avdId) ids.add(avdId)
  for (const one of [...ids]) {
    const m = /^(?:AVD-)?([A-Z]+)-(\d{4})$/.exec(one)
    if (!m) continue
    const [, prefix, digits] = m
    ids.add(`${prefix}-${digits}`).add(`AVD-${prefix}-${digits}`).add(`${prefix}${digits}`)
    if (digits.startsWith('0')) ids.add(`${prefix}${digits.slice(1)}`)
  }
  ids.delete(id)
  return [...ids]
}

/** The fields kept of each finding: the rest (references, code lines, layers) is dropped at parse. */
const FINDING_FIELDS: Record<string, string[]> = {
  Vulnerabilities: [
    'VulnerabilityID',
    'PkgName',
    'PkgPath',
    'PkgIdentifier',
    'InstalledVersion',
    'FixedVersion',
    'Status',
    'SeveritySource',
    'PrimaryURL',
    'Title',
    'Description',
    'Severity',
    'CVSS'
  ],
  Misconfigurations: [
    'ID',
    'AVDID',
    'Title',
    'Message',
    'Description',
    'Resolution',
    'Severity',
    'PrimaryURL',
    'Status',
    'CauseMetadata'
  ],
  Secrets: ['RuleID', 'Category', 'Severity', 'Title', 'StartLine', 'EndLine'],
  Licenses: ['Name', 'Severity', 'Category', 'PkgName', 'FilePath', 'Link'],
  Packages: ['Name', 'Version', 'Locations']
}
const RESULT_FIELDS = new Set(['Target', 'Class', 'Type'])

function pick(value: unknown, fields: string[]): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  const source = value as Record<string, unknown>
  const kept: Record<string, unknown> = {}
  for (const field of fields) if (source[field] !== undefined) kept[field] = source[field]
  const cause = kept.CauseMetadata as TrivyMisconfiguration['CauseMetadata'] | undefined
  if (cause)
    kept.CauseMetadata = {
      StartLine: cause.StartLine,
      EndLine: cause.EndLine,
      Resource: cause.Resource
    }
  return kept
}

function readResult(reader: JsonReader, results: unknown[]): void {
  if (reader.peek() !== BYTES.OPEN_OBJECT) {
    results.push(reader.parseValue())
    return
  }
  const result: Record<string, unknown> = {}
  results.push(result)
  reader.eachMember((key) => {
    const fields = FINDING_FIELDS[key]
    if (fields && reader.peek() === BYTES.OPEN_ARRAY) {
      const list: unknown[] = []
      result[key] = list
      reader.eachElement(() => list.push(pick(reader.parseValue(), fields)))
    } else if (RESULT_FIELDS.has(key)) result[key] = reader.parseValue()
    else reader.skipValue()
  })
}

/** Reads the document one finding at a time, so the full object tree is never built. */
function readDocument(reader: JsonReader): Record<string, unknown> {
  const doc: Record<string, unknown> = {}
  reader.eachMember((key) => {
    if (key === 'Results' && reader.peek() === BYTES.OPEN_ARRAY) {
      const results: unknown[] = []
      doc.Results = results
      reader.eachElement(() => readResult(reader, results))
    } else doc[key] = reader.parseValue()
  })
  const end = reader.offset()
  if (!reader.atEnd()) throw new JsonSyntaxError(`unexpected data after the report at byte ${end}`)
  return doc
}

function readChecked(reader: JsonReader, source: string): TrivyReport {
  const notReport = (why: string) => new ToolError(`${source} is not a Trivy JSON report: ${why}`)
  if (reader.atEnd()) throw notReport('the file is empty')
  if (reader.peek() !== BYTES.OPEN_OBJECT) throw notReport('expected a JSON object')
  let report: Record<string, unknown>
  try {
    report = readDocument(reader)
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw notReport(error.message)
    throw error
  }
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
  return report as unknown as TrivyReport
}

/**
 * Parses Trivy JSON output, keeping what the gate, summary and SARIF read; anything else
 * (SARIF, a table, truncated JSON) is a ToolError.
 */
export function parseReport(input: string | Buffer, source: string): TrivyReport {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input
  return readChecked(JsonReader.fromBuffer(buf), source)
}

/**
 * parseReport of the file at `path`, read a chunk at a time: the file is never held whole, so
 * a 100 MB report costs little more than the findings kept. A missing file throws the fs error.
 */
export function readReportFile(path: string, source: string, chunkBytes?: number): TrivyReport {
  return JsonReader.withFile(path, (reader) => readChecked(reader, source), chunkBytes)
}

/** `name@version` -> the lines a lockfile lists it on, for the result's vulnerabilities. */
function packageLines(packages: TrivyPackage[] | undefined): Map<string, LineRange[]> {
  const lines = new Map<string, LineRange[]>()
  for (const p of packages ?? []) {
    const ranges = (p.Locations ?? [])
      .filter((l) => Number.isInteger(l.StartLine) && (l.StartLine as number) > 0)
      .map((l) => ({
        startLine: l.StartLine as number,
        endLine: Math.max(l.StartLine as number, l.EndLine ?? 0)
      }))
    if (ranges.length > 0) lines.set(`${p.Name}@${p.Version}`, ranges)
  }
  return lines
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
    const lines = r.Packages ? packageLines(r.Packages) : undefined
    for (const v of r.Vulnerabilities ?? []) {
      const locations = lines?.get(`${v.PkgName}@${v.InstalledVersion}`)
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
        score: cvssScore(v),
        locations,
        startLine: locations?.[0].startLine,
        endLine: locations?.[0].endLine
      })
    }
    for (const m of r.Misconfigurations ?? []) {
      if (m.Status !== undefined && m.Status !== 'FAIL') continue
      findings.push({
        target,
        resultClass,
        kind: 'misconfiguration',
        id: m.ID || m.AVDID || 'unknown-check',
        aliases: checkAliases(m.ID || m.AVDID || 'unknown-check', m.AVDID),
        severity: toSeverity(m.Severity),
        title: m.Title ?? m.ID,
        description: [m.Message, m.Resolution].filter(Boolean).join(' - ') || m.Description,
        url: m.PrimaryURL,
        startLine: m.CauseMetadata?.StartLine,
        endLine: m.CauseMetadata?.EndLine,
        resource: m.CauseMetadata?.Resource || undefined
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
