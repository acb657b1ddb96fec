import { formatCommand } from '../../core/exec.js'
import { Summary } from '../../core/summary.js'
import type { GateResult } from '../../scan/gate.js'
import type { IgnoreOutcome } from '../../scan/ignore.js'
import type { Finding } from '../../scan/report.js'
import { SEVERITIES, type Severity } from '../../scan/severity.js'

/** Rows of the findings table; the rest is counted, and the JSON report has them all. */
export const MAX_FINDING_ROWS = 500

export interface ScanSummaryInput {
  title: string
  facts: [string, string][]
  findings: Finding[]
  gate: GateResult
  gateSeverities: Set<Severity>
  ignore?: IgnoreOutcome
  notes?: string[]
}

// Trivy colours `Highlighted` code lines with ANSI escapes.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g

/** Report text is untrusted: no terminal colours, no raw HTML in the job summary. */
export function plainText(text: string | undefined): string {
  return (text ?? '').replace(ANSI, '').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function idLink(f: Finding): string {
  const id = plainText(f.id).replace(/[[\]]/g, '')
  return f.url && /^https?:\/\/[^\s()<>]+$/.test(f.url) ? `[${id}](${f.url})` : id
}

function where(f: Finding): string {
  if (f.kind === 'vulnerability' || f.kind === 'license')
    return plainText(f.pkgName ?? f.pkgPath ?? f.target)
  return plainText(f.startLine ? `${f.target}:${f.startLine}` : f.target)
}

const KINDS = ['vulnerability', 'misconfiguration', 'secret', 'license'] as const

function severityTable(findings: Finding[]): unknown[][] {
  const cells = new Map(SEVERITIES.map((s) => [s, KINDS.map(() => 0)]))
  for (const f of findings) cells.get(f.severity)![KINDS.indexOf(f.kind)]++
  return SEVERITIES.map((s) => {
    const row = cells.get(s)!
    return [s, ...row, row.reduce((a, b) => a + b, 0)]
  })
}

function findingRows(findings: Finding[]): unknown[][] {
  return findings
    .slice(0, MAX_FINDING_ROWS)
    .map((f) => [
      f.severity,
      idLink(f),
      f.kind,
      where(f),
      plainText(f.installed),
      plainText(f.fixed ?? (f.kind === 'vulnerability' ? '(no fix)' : '')),
      plainText(f.title).slice(0, 160)
    ])
}

export function buildScanSummary(input: ScanSummaryInput): string {
  const { gate } = input
  const gated = SEVERITIES.filter((s) => input.gateSeverities.has(s)).join(', ')
  const summary = new Summary()
    .heading(input.title)
    .paragraph(
      gate.passed
        ? `✅ No findings at ${gated}.`
        : `❌ ${gate.failing.length} finding(s) at ${gated}.`
    )
    .facts(input.facts)
    .heading('Findings by severity', 3)
    .table(
      ['Severity', 'Vulnerabilities', 'Misconfigurations', 'Secrets', 'Licenses', 'Total'],
      severityTable(input.findings)
    )
  if (gate.failing.length > 0) {
    summary
      .heading(`Findings at ${gated}`, 3)
      .table(
        ['Severity', 'ID', 'Kind', 'Package / file', 'Installed', 'Fixed version', 'Title'],
        findingRows(gate.failing)
      )
    if (gate.failing.length > MAX_FINDING_ROWS) {
      summary.paragraph(
        `_${gate.failing.length - MAX_FINDING_ROWS} more not shown; the JSON report lists every finding._`
      )
    }
  }
  const expired = input.ignore?.expired ?? []
  if (expired.length > 0) {
    summary
      .heading('Expired ignore entries', 3)
      .list(
        expired.map(
          ({ rule, findings }) =>
            `\`${plainText(rule.id)}\` (${plainText(rule.origin)}) expired ${rule.expiresAt?.toISOString().slice(0, 10)}: ${findings} finding(s) no longer ignored`
        )
      )
  }
  if (input.notes && input.notes.length > 0)
    summary.heading('Notes', 3).list(input.notes.map(plainText))
  return summary.toMarkdown()
}

/** The dry run: the steps a run would take, the scan command, and the gate it would apply. */
export function dryRunSummary(
  what: string,
  steps: string[],
  argv: string[] | undefined,
  facts: [string, string][]
): string {
  const summary = new Summary()
    .heading(`Security scan: dry run (${what})`)
    .paragraph('🔎 dry run: nothing was downloaded, scanned, gated or written')
    .list(steps)
  if (argv) summary.paragraph('It would scan with:').code(formatCommand(argv))
  return summary.facts(facts).toMarkdown()
}
