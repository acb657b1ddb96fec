import { formatDuration } from '../core/duration.js'
import { formatCommand } from '../core/exec.js'
import type { TestTotals } from './junit.js'
import type { CommandRun } from './run-commands.js'

export interface GateLimits {
  maxFailures: number
  minCoverage?: number
  /** Branch coverage threshold (coverage.py --cov-branch, JaCoCo, lcov BRDA), percent. */
  minBranchCoverage?: number
  maxDurationMs: number
}

export interface GateEvidence {
  runs: CommandRun[]
  /** Undefined when no test report was read (none asked for, or the build stopped first). */
  totals?: TestTotals
  /** Undefined when no coverage report was read or the reports count no line. */
  coveragePercent?: number
  /** Undefined when the reports count no branch. */
  branchPercent?: number
}

/** One decision, with what was measured, so the summary shows why the gate said what it said. */
export interface Check {
  name: string
  measured: string
  condition: string
  passed: boolean
}

function commandChecks(
  runs: CommandRun[],
  totals: TestTotals | undefined,
  limits: GateLimits
): Check[] {
  const checks: Check[] = []
  for (const run of runs) {
    const cmd = `\`${formatCommand(run.argv)}\``
    if (run.timedOut) {
      checks.push({
        name: 'max-duration',
        measured: `${cmd} still running when the budget ran out`,
        condition: `all commands within ${formatDuration(limits.maxDurationMs)}`,
        passed: false
      })
    } else if (run.code !== 0) {
      const failedTests = totals ? totals.failed + totals.errors : 0
      const hidden = run.unreported ?? []
      // A runner exits non-zero when tests fail; that is judged by max-failures below. It is
      // explained only when the report accounts for it: failed tests, and nothing the runner
      // printed that no report holds (a suite that never ran, a package that did not build).
      // A signal (or 128+n, how a wrapper reports one: 137 is the OOM killer's SIGKILL) is not
      // how a runner reports failed tests: it was killed, and what it had not run yet is in no
      // report (Gradle writes a report per class as it goes).
      const killed = run.code === null || run.code >= 128
      const explained = run.phase === 'test' && failedTests > 0 && hidden.length === 0 && !killed
      const why =
        hidden.length > 0
          ? ` and printed failures no report holds: ${hidden.join('; ')}`
          : killed
            ? ', which is not how a runner reports failed tests (killed?); tests it had not run are in no report'
            : explained
              ? ` (${failedTests} failed tests)`
              : run.phase === 'test' && totals
                ? ' but the reports hold no failed test'
                : ''
      checks.push({
        name: `${run.phase} command`,
        measured: `${cmd} exited ${run.code ?? 'on a signal'}${why}`,
        condition:
          run.phase === 'test' && totals
            ? 'non-zero exit only with failed tests the reports account for'
            : 'exit 0',
        passed: explained
      })
    }
  }
  return checks
}

/** Judges a build: every command ran to completion, failures within limit, coverage high enough. */
export function judgeBuild(evidence: GateEvidence, limits: GateLimits): Check[] {
  const checks = commandChecks(evidence.runs, evidence.totals, limits)
  const { totals } = evidence
  if (totals) {
    checks.push({
      name: 'tests found',
      measured: `${totals.tests} test cases`,
      condition: 'at least 1',
      passed: totals.tests > 0
    })
    const failed = totals.failed + totals.errors
    checks.push({
      name: 'max-failures',
      measured: `${failed} failed (${totals.failed} failures, ${totals.errors} errors)`,
      condition: `≤ ${limits.maxFailures}`,
      passed: failed <= limits.maxFailures
    })
  }
  if (limits.minCoverage !== undefined) {
    const pct = evidence.coveragePercent
    checks.push({
      name: 'min-coverage',
      measured:
        pct === undefined
          ? 'no line counted in the coverage reports'
          : `${pct.toFixed(2)}% of lines`,
      condition: `≥ ${limits.minCoverage}%`,
      passed: pct !== undefined && pct >= limits.minCoverage
    })
  }
  if (limits.minBranchCoverage !== undefined) {
    const pct = evidence.branchPercent
    checks.push({
      name: 'min-branch-coverage',
      measured:
        pct === undefined
          ? 'no branch counted in the coverage reports (was branch coverage on?)'
          : `${pct.toFixed(2)}% of branches`,
      condition: `≥ ${limits.minBranchCoverage}%`,
      passed: pct !== undefined && pct >= limits.minBranchCoverage
    })
  }
  return checks
}
