import type { ActionIO } from '../../core/action.js'
import { GateError } from '../../core/errors.js'
import { log } from '../../core/log.js'
import { mergeCoverage, percent } from '../../build-gate/coverage.js'
import { judgeBuild, type Check } from '../../build-gate/gate.js'
import { countTests, type TestCase } from '../../build-gate/junit.js'
import { locateFailure } from '../../build-gate/locate.js'
import { findReports, readCoverageReports, readJUnitReports } from '../../build-gate/reports.js'
import { runPhases } from '../../build-gate/run-commands.js'
import { readInputs, type BuildGateInputs } from './inputs.js'
import { buildGateSummary, dryRunSummary, testTitle, type GateResults } from './summary.js'

// GitHub shows only the first few annotations of a step; more would only slow the log down.
const MAX_ANNOTATIONS = 50

async function gatherResults(cfg: BuildGateInputs): Promise<GateResults> {
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

export async function run(io: ActionIO): Promise<void> {
  const cfg = readInputs(io.inputs, io.context)
  if (cfg.dryRun) {
    await io.writeSummary(dryRunSummary(cfg))
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
  await io.writeSummary(buildGateSummary(cfg, results, checks, passed))
  if (!passed) {
    const why = checks
      .filter((c) => !c.passed)
      .map((c) => `${c.name}: ${c.measured} (needs ${c.condition})`)
    throw new GateError(why.join('; '))
  }
}
