import { relative } from 'node:path'
import type { ActionIO } from '../../core/action.js'
import { formatDuration } from '../../core/duration.js'
import { GateError } from '../../core/errors.js'
import { formatCommand } from '../../core/exec.js'
import { log } from '../../core/log.js'
import { Summary } from '../../core/summary.js'
import { mergeCoverage, percent, type CoverageReport } from '../../build-gate/coverage.js'
import { judgeBuild, type Check } from '../../build-gate/gate.js'
import { countTests, type TestCase, type TestTotals } from '../../build-gate/junit.js'
import { locateFailure } from '../../build-gate/locate.js'
import {
  findReports,
  readCoverageReports,
  readJUnitReports,
  type ReportFile
} from '../../build-gate/reports.js'
import { runPhases, type CommandRun } from '../../build-gate/run-commands.js'
import { readInputs, type BuildGateInputs } from './inputs.js'

// GitHub shows only the first few annotations of a step; more would only slow the log down.
const MAX_ANNOTATIONS = 50
const MAX_FAILURE_ROWS = 100

interface Results {
  runs: CommandRun[]
  cases?: TestCase[]
  totals?: TestTotals
  coverage: ReportFile<CoverageReport>[]
  coveragePercent?: number
  branchPercent?: number
}

async function gatherResults(cfg: BuildGateInputs): Promise<Results> {
  const startedAt = Date.now()
  const runs = await runPhases(
    { build: cfg.build, test: cfg.test },
    { cwd: cfg.workDir, budgetMs: cfg.limits.maxDurationMs }
  )
  const stopped = runs.some((r) => r.timedOut || (r.phase === 'build' && r.code !== 0))
  if (stopped) return { runs, coverage: [] }
  const ranCommands = runs.length > 0 ? startedAt : undefined
  let cases: TestCase[] | undefined
  if (cfg.testReports.length > 0) {
    const files = await findReports('test-reports', cfg.testReports, cfg.workDir, ranCommands)
    cases = readJUnitReports(files).flatMap((r) => r.content)
  }
  const coverage =
    cfg.coverageReports.length > 0
      ? readCoverageReports(
          await findReports('coverage-reports', cfg.coverageReports, cfg.workDir, ranCommands),
          cfg.workDir
        )
      : []
  // Merged by file and line: two reports of disjoint halves of a file give 100%, not 50%.
  const merged = mergeCoverage(coverage.map((c) => c.content))
  return {
    runs,
    cases,
    totals: cases ? countTests(cases) : undefined,
    coverage,
    coveragePercent: percent(merged.lines),
    branchPercent: percent(merged.branches)
  }
}

function testTitle(test: TestCase): string {
  // jest-junit repeats the test name as its class name by default
  const group = test.classname === test.name ? test.suite : test.classname || test.suite
  return [group, test.name].filter(Boolean).join(' › ')
}

function annotateFailures(failed: TestCase[], cfg: BuildGateInputs): void {
  for (const test of failed.slice(0, MAX_ANNOTATIONS)) {
    const where = locateFailure(test, cfg.workDir, cfg.workspace)
    log.error(test.details ?? test.message ?? `${test.status}`, {
      title: `${test.status === 'error' ? 'Error in' : 'Failed'}: ${testTitle(test)}`,
      ...(where.file && { file: where.file }),
      ...(where.line && { startLine: where.line })
    })
  }
  if (failed.length > MAX_ANNOTATIONS)
    log.warning(`${failed.length - MAX_ANNOTATIONS} more failed tests not annotated`)
}

function summarize(
  cfg: BuildGateInputs,
  results: Results,
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

export async function run(io: ActionIO): Promise<void> {
  const cfg = readInputs(io.inputs)
  if (cfg.dryRun) {
    const plan = [
      ...cfg.build.map((c) => `build: ${formatCommand(c)}`),
      ...cfg.test.map((c) => `test: ${formatCommand(c)}`)
    ]
    await io.writeSummary(
      new Summary().heading('Build gate: dry run (nothing run)').list(plan).toMarkdown()
    )
    return
  }
  const results = await gatherResults(cfg)
  const checks: Check[] = judgeBuild(results, cfg.limits)
  const passed = checks.every((c) => c.passed)
  const failed = (results.cases ?? []).filter((c) => c.status === 'failed' || c.status === 'error')
  annotateFailures(failed, cfg)
  const t = results.totals
  io.setOutput('tests', t ? t.tests : '')
  io.setOutput('failures', t ? t.failed + t.errors : '')
  io.setOutput('skipped', t ? t.skipped : '')
  io.setOutput('flaky', t ? t.flaky : '')
  io.setOutput(
    'coverage',
    results.coveragePercent === undefined ? '' : results.coveragePercent.toFixed(2)
  )
  io.setOutput(
    'branch-coverage',
    results.branchPercent === undefined ? '' : results.branchPercent.toFixed(2)
  )
  io.setOutput('passed', passed)
  await io.writeSummary(summarize(cfg, results, checks, passed))
  if (!passed) {
    const why = checks
      .filter((c) => !c.passed)
      .map((c) => `${c.name}: ${c.measured} (needs ${c.condition})`)
    throw new GateError(why.join('; '))
  }
}
