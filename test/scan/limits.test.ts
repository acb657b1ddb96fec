import { describe, expect, it } from '@jest/globals'
import { gunzipSync, gzipSync } from 'node:zlib'
import { collectFindings, parseReport } from '../../src/scan/report.js'
import { buildSarif, GITHUB_SARIF_LIMITS } from '../../src/scan/sarif.js'
import { SEVERITIES, severityRank, type Severity } from '../../src/scan/severity.js'
import { evaluateGate } from '../../src/scan/gate.js'
import { buildScanSummary, MAX_FINDING_ROWS } from '../../src/actions/security-scan/summary.js'
import { syntheticReport } from '../fixtures/scan/synthetic-report.js'
import { readFixture } from './helpers.js'

interface SarifDoc {
  runs: {
    tool: { driver: { rules: { id: string; properties: Record<string, unknown> }[] } }
    results: { ruleId: string; level: string }[]
  }[]
}

const LEVEL_RANK: Record<string, number> = { error: 0, warning: 1, note: 2 }

describe('SARIF within GitHub upload limits', () => {
  const report = syntheticReport(30_000)
  const findings = collectFindings(report)

  it('caps results at 25,000 per run, dropping the least severe', () => {
    const out = buildSarif(findings, report)
    const doc = JSON.parse(out.text) as SarifDoc
    const results = doc.runs[0].results
    expect(results).toHaveLength(GITHUB_SARIF_LIMITS.resultsPerRun)
    expect(out.omitted).toBe(5_000)
    expect(doc.runs[0].tool.driver.rules.length).toBeLessThanOrEqual(
      GITHUB_SARIF_LIMITS.rulesPerRun
    )
    expect(gzipSync(out.text).length).toBeLessThan(10 * 1024 * 1024)
    // every CRITICAL and HIGH made it; what was dropped is LOW or UNKNOWN
    const bySeverity = (s: Severity) => findings.filter((f) => f.severity === s).length
    expect(results.filter((r) => r.level === 'error')).toHaveLength(
      bySeverity('CRITICAL') + bySeverity('HIGH')
    )
    expect(results.filter((r) => r.level === 'warning')).toHaveLength(bySeverity('MEDIUM'))
    const ranks = results.map((r) => LEVEL_RANK[r.level])
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
  })

  it('shrinks to the compressed-size limit, most severe first', () => {
    const small = findings.slice(0, 2000)
    const limits = { ...GITHUB_SARIF_LIMITS, gzipBytes: 60_000 }
    const out = buildSarif(small, report, { limits })
    expect(out.gzipBytes).toBeLessThanOrEqual(limits.gzipBytes)
    expect(gunzipSync(gzipSync(out.text)).length).toBe(Buffer.byteLength(out.text))
    expect(out.included).toBeGreaterThan(0)
    expect(out.included + out.omitted).toBe(2000)
    const kept = (JSON.parse(out.text) as SarifDoc).runs[0].results
    const worstKept = Math.max(...kept.map((r) => LEVEL_RANK[r.level]))
    const severities = small.map((f) => severityRank(f.severity)).sort((a, b) => a - b)
    expect(worstKept).toBeLessThanOrEqual(
      LEVEL_RANK[['error', 'error', 'warning', 'note', 'note'][severities[out.included - 1]]]
    )
  })

  it('respects the rules-per-run limit when every finding is its own rule', () => {
    const out = buildSarif(findings.slice(0, 300), report, {
      limits: { ...GITHUB_SARIF_LIMITS, rulesPerRun: 100 }
    })
    const doc = JSON.parse(out.text) as SarifDoc
    expect(doc.runs[0].tool.driver.rules).toHaveLength(100)
    expect(doc.runs[0].results).toHaveLength(100)
  })

  it('has the shape of the SARIF Trivy itself writes', () => {
    const trivy = JSON.parse(readFixture('trivy-image-alpine-310.sarif.json'))
    const buster = parseReport(
      readFixture('trivy-image-debian-buster-critical-and-unfixed.json'),
      'b'
    )
    const ours = JSON.parse(buildSarif(collectFindings(buster), buster).text)
    expect(ours.version).toBe(trivy.version)
    expect(ours.$schema).toBe(trivy.$schema)
    const [theirRun, ourRun] = [trivy.runs[0], ours.runs[0]]
    expect(ourRun.tool.driver.name).toBe(theirRun.tool.driver.name)
    // partialFingerprints is ours: Trivy writes none, so GitHub cannot track image alerts
    expect(Object.keys(ourRun.results[0]).sort()).toEqual(
      [...Object.keys(theirRun.results[0]), 'partialFingerprints'].sort()
    )
    expect(Object.keys(ourRun.results[0].locations[0].physicalLocation).sort()).toEqual(
      Object.keys(theirRun.results[0].locations[0].physicalLocation).sort()
    )
    for (const key of ['precision', 'security-severity', 'tags']) {
      expect(ourRun.tool.driver.rules[0].properties).toHaveProperty(key)
    }
    // CVE-2019-18224: CVSS 9.8 from its severity source nvd, as Trivy writes it
    const rule = ourRun.tool.driver.rules.find((r: { id: string }) => r.id === 'CVE-2019-18224')
    expect(rule.properties['security-severity']).toBe('9.8')
    expect(
      ourRun.results.find((r: { ruleId: string }) => r.ruleId === 'CVE-2019-18224').locations[0]
        .physicalLocation.artifactLocation.uri
    ).toBe(buster.ArtifactName)
  })
})

describe('job summary stays under 1 MiB however large the report', () => {
  it('lists the first rows, counts the rest, and fits', () => {
    const report = syntheticReport(60_000)
    const findings = collectFindings(report)
    const severities = new Set<Severity>(SEVERITIES)
    const gate = evaluateGate(findings, { severities })
    const md = buildScanSummary({
      title: 'big',
      facts: [],
      findings,
      gate,
      gateSeverities: severities
    })
    expect(Buffer.byteLength(md)).toBeLessThan(1024 * 1024)
    expect(md).toContain(
      `| CRITICAL | ${gate.counts.critical} | 0 | 0 | 0 | ${gate.counts.critical} |`
    )
    expect(md).toContain(`_${60_000 - MAX_FINDING_ROWS} more not shown`)
  })
})
