import { relative } from 'node:path'
import { formatDuration } from '../../core/duration.js'
import { formatCommand } from '../../core/exec.js'
import { Summary } from '../../core/summary.js'
import type { CoverageReport } from '../../build-gate/coverage.js'
import type { Check } from '../../build-gate/gate.js'
import type { TestCase, TestTotals } from '../../build-gate/junit.js'
import { locateFailure } from '../../build-gate/locate.js'
import type { ReportFile } from '../../build-gate/reports.js'
import type { CommandRun } from '../../build-gate/run-commands.js'
import type { BuildGateInputs } from './inputs.js'

const MAX_FAILURE_ROWS = 100

/** What the gate measured: the commands run, the tests and coverage their reports hold. */
export interface GateResults {
  runs: CommandRun[]
  cases?: TestCase[]
  totals?: TestTotals
  coverage: ReportFile<CoverageReport>[]
  coveragePercent?: number
  branchPercent?: number
}

export function testTitle(test: TestCase): string {
  // jest-junit repeats the test name as its class name by default
  const group = test.classname === test.name ? test.suite : test.classname || test.suite
  return [group, test.name].filter(Boolean).join(' › ')
}

/** The commands a run would start, and nothing run. */
export function dryRunSummary(cfg: Pick<BuildGateInputs, 'build' | 'test'>): string {
  const preview = [
    ...cfg.build.map((c) => `build: ${formatCommand(c)}`),
    ...cfg.test.map((c) => `test: ${formatCommand(c)}`)
  ]
  return new Summary().heading('Build gate: dry run (nothing run)').list(preview).toMarkdown()
}

/** The job summary: totals, coverage, every check with its measured value, commands, failures. */
export function buildGateSummary(
  cfg: BuildGateInputs,
  results: GateResults,
  checks: Check[],
  passed: boolean
): string {
  const summary = new Summary().heading(`Build gate: ${passed ? 'passed' : 'failed'}`)
  const t = results.totals
  if (t)
    summary.paragraph(
      `**${t.tests}** tests: ${t.passed} passed${t.flaky ? ` (${t.flaky} flaky: passed on a retry)` : ''}, ${t.failed} failed, ${t.errors} errors, ${t.skipped} skipped`
    )
  if (results.coveragePercent !== undefined)
    summary.paragraph(
      `Line coverage: **${results.coveragePercent.toFixed(2)}%**` +
        (results.branchPercent !== undefined
          ? `, branch coverage: **${results.branchPercent.toFixed(2)}%**`
          : '') +
        (results.coverage.length > 1
          ? ` (${results.coverage.length} reports merged by file and line)`
          : '')
    )
  summary.table(
    ['check', 'measured', 'condition', 'verdict'],
    checks.map((c) => [c.name, c.measured, c.condition, c.passed ? 'pass' : 'FAIL'])
  )
  summary.heading('Commands', 3).table(
    ['phase', 'command', 'exit', 'duration'],
    results.runs.map((r) => [
      r.phase,
      formatCommand(r.argv),
      r.timedOut ? 'timed out' : r.code,
      formatDuration(r.durationMs)
    ])
  )
  const failed = (results.cases ?? []).filter((c) => c.status === 'failed' || c.status === 'error')
  if (failed.length > 0) {
    summary.heading('Failed tests', 3).table(
      ['test', 'where', 'message'],
      failed.slice(0, MAX_FAILURE_ROWS).map((test) => {
        const where = locateFailure(test, cfg.workDir, cfg.workspace)
        return [
          testTitle(test),
          where.file ? `${where.file}${where.line ? `:${where.line}` : ''}` : '',
          test.message ?? ''
        ]
      })
    )
    if (failed.length > MAX_FAILURE_ROWS)
      summary.paragraph(`… and ${failed.length - MAX_FAILURE_ROWS} more.`)
  }
  if (results.coverage.length > 0) {
    summary.heading('Coverage reports', 3).table(
      ['report', 'format', 'lines covered', 'branches covered'],
      results.coverage.map((c) => [
        relative(cfg.workDir, c.file),
        c.content.format,
        `${c.content.lines.covered} / ${c.content.lines.total}`,
        `${c.content.branches.covered} / ${c.content.branches.total}`
      ])
    )
  }
  return summary.toMarkdown()
}
