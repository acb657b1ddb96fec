import { resolve } from 'node:path'
import { ConfigurationError } from '../../core/errors.js'
import { parseCommand, parsePercent, type Inputs } from '../../core/inputs.js'
import type { GateLimits } from '../../build-gate/gate.js'
import type { RunContext } from '../../core/run-context.js'

export interface BuildGateInputs {
  build: string[][]
  test: string[][]
  workDir: string
  /** The repository checkout; annotation paths are relative to it. */
  workspace: string
  testReports: string[]
  coverageReports: string[]
  limits: GateLimits
  dryRun: boolean
}

/** One command per line; each line is an argument list (JSON array or words), never a shell. */
function commands(inputs: Inputs, name: string): string[][] {
  return inputs.lines(name).map((line) => parseCommand(name, line))
}

export function readInputs(
  inputs: Inputs,
  context: Pick<RunContext, 'workspace'>
): BuildGateInputs {
  const workspace = context.workspace
  const parsed: BuildGateInputs = {
    build: commands(inputs, 'build'),
    test: commands(inputs, 'test'),
    workDir: resolve(workspace, inputs.optional('working-directory') ?? '.'),
    workspace,
    testReports: inputs.lines('test-reports'),
    coverageReports: inputs.lines('coverage-reports'),
    limits: {
      maxFailures: inputs.integer('max-failures', 0, 1_000_000, 0),
      minCoverage: inputs.has('min-coverage')
        ? parsePercent('min-coverage', inputs.raw('min-coverage'))
        : undefined,
      minBranchCoverage: inputs.has('min-branch-coverage')
        ? parsePercent('min-branch-coverage', inputs.raw('min-branch-coverage'))
        : undefined,
      maxDurationMs: inputs.duration('max-duration', '30m')
    },
    dryRun: inputs.boolean('dry-run')
  }
  if (parsed.limits.minCoverage !== undefined && parsed.coverageReports.length === 0) {
    throw new ConfigurationError(
      'input `min-coverage` needs `coverage-reports` (where the coverage report is written)',
      'min-coverage'
    )
  }
  if (parsed.limits.minBranchCoverage !== undefined && parsed.coverageReports.length === 0) {
    throw new ConfigurationError(
      'input `min-branch-coverage` needs `coverage-reports` (where the coverage report is written)',
      'min-branch-coverage'
    )
  }
  if (parsed.limits.maxDurationMs <= 0) {
    throw new ConfigurationError(
      'input `max-duration` = `0`: expected a positive duration such as 20m',
      'max-duration'
    )
  }
  if (
    parsed.build.length +
      parsed.test.length +
      parsed.testReports.length +
      parsed.coverageReports.length ===
    0
  ) {
    throw new ConfigurationError(
      'nothing to do: give `build` or `test` commands, or `test-reports` / `coverage-reports` to read',
      'test'
    )
  }
  return parsed
}
