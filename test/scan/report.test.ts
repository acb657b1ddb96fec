import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ToolError } from '../../src/core/errors.js'
import { analyseReport } from '../../src/scan/analyse.js'
import { countFindings } from '../../src/scan/gate.js'
import {
  collectFindings,
  parseReport,
  readReportFile,
  type TrivyReport
} from '../../src/scan/report.js'
import { buildSarif } from '../../src/scan/sarif.js'
import { SEVERITIES, type Severity } from '../../src/scan/severity.js'
import { buildScanSummary } from '../../src/actions/security-scan/summary.js'
import { fixturePath, jsonReportFixtures, readFixture } from './helpers.js'

const GATE = new Set<Severity>(['CRITICAL', 'HIGH'])

/** Counted straight from the raw JSON, independently of the report model under test. */
function rawCounts(text: string): Record<string, number> {
  const doc = JSON.parse(text) as {
    Results?: Record<string, Record<string, unknown>[] | undefined>[]
  }
  const counts: Record<string, number> = { total: 0, fixable: 0, secrets: 0, misconfigurations: 0 }
  for (const s of SEVERITIES) counts[s.toLowerCase()] = 0
  for (const r of doc.Results ?? []) {
    const failedChecks = (r.Misconfigurations ?? []).filter((m) => m.Status === 'FAIL')
    const all = [
      ...(r.Vulnerabilities ?? []),
      ...failedChecks,
      ...(r.Secrets ?? []),
      ...(r.Licenses ?? [])
    ]
    for (const f of all) counts[String(f.Severity).toLowerCase()]++
    counts.total += all.length
    counts.fixable += (r.Vulnerabilities ?? []).filter((v) => v.FixedVersion).length
    counts.secrets += (r.Secrets ?? []).length
    counts.misconfigurations += failedChecks.length
  }
  return counts
}

/** What each real report holds (SOURCES.md), and which IDs a CRITICAL,HIGH gate must list. */
const EXPECTED: Record<string, { total: number; failing: string[] }> = {
  'trivy-image-debian-buster-critical-and-unfixed.json': { total: 2, failing: ['CVE-2019-18224'] },
  'trivy-sbom-fluentd-critical-high-low-unfixed.json': {
    total: 3,
    failing: ['CVE-2019-18224', 'CVE-2020-8165']
  },
  'trivy-image-slmicro-clean-zero-vulns.json': { total: 0, failing: [] },
  'trivy-config-terraform-misconfigs.json': { total: 3, failing: ['AWS-0132'] },
  'trivy-repo-secrets.json': { total: 2, failing: ['aws-access-key-id', 'mysecret'] },
  'trivy-repo-pnpm-lockfile-vulns.json': { total: 2, failing: ['CVE-2019-10744'] }
}

describe('every real Trivy report: parse, gate, summary, SARIF', () => {
  it('covers every JSON fixture in shared/fixtures/trivy', () => {
    expect(jsonReportFixtures().sort()).toEqual(Object.keys(EXPECTED).sort())
  })

  describe.each(Object.entries(EXPECTED))('%s', (file, expected) => {
    const text = readFixture(file)
    const report = parseReport(text, file)
    const analysis = analyseReport(report, {
      severities: GATE,
      ignoreUnfixed: false,
      ignoreRules: [],
      now: new Date()
    })

    it('counts what the report holds', () => {
      const counts = countFindings(collectFindings(report))
      const raw = rawCounts(text)
      for (const key of Object.keys(raw))
        expect([key, counts[key as keyof typeof counts]]).toEqual([key, raw[key]])
      expect(counts.total).toBe(expected.total)
    })

    it('gates on CRITICAL and HIGH only', () => {
      expect(analysis.gate.failing.map((f) => f.id).sort()).toEqual([...expected.failing].sort())
      expect(analysis.gate.passed).toBe(expected.failing.length === 0)
    })

    it('summarises: severity table and every failing finding with its link', () => {
      const md = buildScanSummary({
        title: file,
        facts: [],
        findings: analysis.findings,
        gate: analysis.gate,
        gateSeverities: GATE
      })
      const counts = analysis.gate.counts
      expect(md).toContain(`| CRITICAL | `)
      expect(md).toMatch(new RegExp(`\\| CRITICAL \\|[^\\n]*\\| ${counts.critical} \\|\\n`))
      expect(md).toMatch(new RegExp(`\\| LOW \\|[^\\n]*\\| ${counts.low} \\|\\n`))
      for (const f of analysis.gate.failing) {
        expect(md).toContain(f.url ? `[${f.id}](${f.url})` : f.id)
        if (f.fixed) expect(md).toContain(f.fixed)
      }
      expect(md).not.toContain('\u001b[')
      expect(md).toContain(expected.failing.length ? '❌' : '✅')
    })

    it('writes SARIF with every severity, levels as Trivy maps them', () => {
      const sarif = JSON.parse(buildSarif(analysis.findings, report).text)
      const results = sarif.runs[0].results as { ruleId: string; level: string }[]
      expect(results).toHaveLength(expected.total)
      const level = {
        CRITICAL: 'error',
        HIGH: 'error',
        MEDIUM: 'warning',
        LOW: 'note',
        UNKNOWN: 'note'
      }
      for (const f of analysis.findings) {
        expect(results.some((r) => r.ruleId === f.id && r.level === level[f.severity])).toBe(true)
      }
      const ruleIds = sarif.runs[0].tool.driver.rules.map((r: { id: string }) => r.id)
      expect(new Set(ruleIds).size).toBe(ruleIds.length)
    })
  })

  it('keeps misconfiguration checks that passed out of the findings', () => {
    const report = parseReport(readFixture('trivy-config-terraform-misconfigs.json'), 'terraform')
    const findings = collectFindings(report)
    expect(
      findings.every((f) => f.kind === 'misconfiguration' && f.target.endsWith('main.tf'))
    ).toBe(true)
    expect(findings.find((f) => f.id === 'AWS-0132')?.startLine).toBe(25)
  })

  it('reads the comma list of fixed versions and the CVSS score of the severity source', () => {
    const report = parseReport(
      readFixture('trivy-sbom-fluentd-critical-high-low-unfixed.json'),
      'sbom'
    )
    const f = collectFindings(report).find((x) => x.id === 'CVE-2020-8165')
    expect(f?.fixed).toBe('6.0.3.1, 5.2.4.3')
    const buster = collectFindings(
      parseReport(readFixture('trivy-image-debian-buster-critical-and-unfixed.json'), 'x')
    )
    // CVE-2019-18224: SeveritySource nvd, CVSS.nvd.V3Score 9.8
    expect(buster.find((x) => x.id === 'CVE-2019-18224')?.score).toBe(9.8)
  })
})

describe('parseReport reads findings one at a time', () => {
  it.each(jsonReportFixtures())('%s: the same findings as a full JSON.parse', (file) => {
    const text = readFixture(file)
    expect(collectFindings(parseReport(Buffer.from(text), file))).toEqual(
      collectFindings(JSON.parse(text) as TrivyReport)
    )
  })

  it.each(jsonReportFixtures())(
    '%s: read from the file in chunks of 1 to 4096 bytes, the same report',
    (file) => {
      const whole = parseReport(readFixture(file), file)
      for (const chunk of [1, 7, 64, 4096])
        expect(readReportFile(fixturePath(file), file, chunk)).toEqual(whole)
    }
  )

  it('reads a file that ends inside a string or value as not a report', () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-'))
    try {
      for (const [text, message] of [
        ['{"SchemaVersion": 2, "ArtifactName": "abc', /inside a string/],
        ['{"SchemaVersion": 2, "Results": [{"Target": "a"', /expected `,`|end of JSON/],
        ['', /empty/]
      ] as const) {
        writeFileSync(join(dir, 'r.json'), text)
        expect(() => readReportFile(join(dir, 'r.json'), 'r.json', 3)).toThrow(message)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('copes with braces, brackets, quotes, escapes and non-ASCII inside strings', () => {
    const title = 'a "quoted" {brace} [bracket] \\ back\\slash, ünïcødé ✓ \u001b[0m'
    const doc = {
      SchemaVersion: 2,
      ArtifactName: 'x]}',
      Results: [
        {
          Target: '}{',
          Class: 'lang-pkgs',
          Packages: [{ Name: '"]' }],
          Vulnerabilities: [
            { VulnerabilityID: 'CVE-1', Title: title, Severity: 'HIGH', References: ['}'] }
          ]
        },
        { Target: 'empty', Vulnerabilities: [] }
      ]
    }
    for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, 2)]) {
      const report = parseReport(text, 'r.json')
      expect(report.ArtifactName).toBe('x]}')
      expect(collectFindings(report)).toEqual([
        expect.objectContaining({ id: 'CVE-1', title, target: '}{', severity: 'HIGH' })
      ])
      // what the action does not read is not kept
      expect(report.Results?.[0].Vulnerabilities?.[0]).not.toHaveProperty('References')
    }
  })
})

describe('parseReport refuses what is not a Trivy JSON report', () => {
  it.each([
    ['the real Trivy SARIF file', readFixture('trivy-image-alpine-310.sarif.json'), /SARIF file/],
    ['an empty file', '', /empty/],
    ['truncated JSON', '{"SchemaVersion": 2, "Results": [', /not a Trivy JSON report/],
    ['schema 1', '{"SchemaVersion": 1}', /SchemaVersion 1 is not supported/],
    [
      'a result without Target',
      '{"SchemaVersion": 2, "Results": [{}]}',
      /Results\[0\] has no `Target`/
    ],
    ['an array', '[]', /expected a JSON object/],
    ['data after the report', '{"SchemaVersion": 2}}', /unexpected data after the report/],
    [
      'a broken finding',
      '{"SchemaVersion": 2, "Results": [{"Target": "a", "Vulnerabilities": [{"x": tru}]}]}',
      /not a Trivy JSON report/
    ],
    ['a missing comma', '{"SchemaVersion": 2 "Results": []}', /expected `,`/],
    ['an unterminated string', '{"SchemaVersion": 2, "ArtifactName": "abc', /inside a string/]
  ])('%s', (_name, text, message) => {
    expect(() => parseReport(text, 'r.json')).toThrow(ToolError)
    expect(() => parseReport(text, 'r.json')).toThrow(message)
  })

  it('accepts a report with no Results key (nothing found, nothing listed)', () => {
    const report = parseReport('{"SchemaVersion": 2, "ArtifactName": "x"}', 'r.json')
    expect(collectFindings(report)).toEqual([])
  })
})
