import { dropUnfixed, evaluateGate, type GateResult } from './gate.js'
import { applyIgnoreRules, type IgnoreOutcome, type IgnoreRule } from './ignore.js'
import { collectFindings, type Finding, type TrivyReport } from './report.js'
import type { Severity } from './severity.js'

export interface AnalysisOptions {
  severities: Set<Severity>
  ignoreUnfixed: boolean
  ignoreRules: IgnoreRule[]
  now: Date
}

export interface Analysis {
  /** Findings after the ignore file and ignore-unfixed, all severities: counts and SARIF. */
  findings: Finding[]
  ignore: IgnoreOutcome
  unfixedDropped: number
  gate: GateResult
}

/**
 * Filters apply to everything (counts, summary, SARIF, gate), as Trivy's own filters do;
 * the severity only decides the gate, so the SARIF still carries every severity.
 */
export function analyseReport(report: TrivyReport, options: AnalysisOptions): Analysis {
  const ignore = applyIgnoreRules(collectFindings(report), options.ignoreRules, options.now)
  const findings = options.ignoreUnfixed ? dropUnfixed(ignore.kept) : ignore.kept
  return {
    findings,
    ignore,
    unfixedDropped: ignore.kept.length - findings.length,
    gate: evaluateGate(findings, { severities: options.severities })
  }
}
