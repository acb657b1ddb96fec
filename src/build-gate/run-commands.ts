import { formatCommand, runCommand } from '../core/exec.js'
import { log } from '../core/log.js'
import { newScan, scanLine } from './unreported.js'

export interface CommandRun {
  argv: string[]
  phase: 'build' | 'test'
  code: number | null
  timedOut: boolean
  durationMs: number
  /** Failures the command printed that test reports never hold (unreported.ts). */
  unreported: string[]
}

export interface StreamOptions {
  cwd: string
  /** Time left in the max-duration budget for this command. */
  timeoutMs: number
}

/**
 * Runs one command from an argument list (never a shell) with its output passed on to the job
 * log as it is written, so a long build is visible live, and read line by line for failures
 * its reports will not show. Exit status is returned, not thrown; a timeout ends the command's
 * whole process group (a test runner's workers too), politely first.
 */
export async function runStreaming(
  argv: string[],
  options: StreamOptions
): Promise<{ code: number | null; timedOut: boolean; durationMs: number; unreported: string[] }> {
  const scan = newScan()
  const result = await runCommand(argv, {
    cwd: options.cwd,
    timeoutMs: options.timeoutMs,
    echo: false,
    passThrough: true,
    capture: false,
    onLine: (line) => scanLine(scan, line),
    killGraceMs: 5000
  })
  return {
    code: result.signal ? null : result.code,
    timedOut: result.timedOut,
    durationMs: result.durationMs,
    unreported: scan.found
  }
}

/**
 * Runs the build commands, then the test commands, within one time budget. Stops at the first
 * build command that fails or any command that runs out of time; a failing test command does
 * not stop the others, since its reports still say which tests failed.
 */
export async function runPhases(
  phases: { build: string[][]; test: string[][] },
  options: { cwd: string; budgetMs: number }
): Promise<CommandRun[]> {
  const deadline = Date.now() + options.budgetMs
  const runs: CommandRun[] = []
  const steps = [
    ...phases.build.map((argv) => ({ argv, phase: 'build' as const })),
    ...phases.test.map((argv) => ({ argv, phase: 'test' as const }))
  ]
  for (const { argv, phase } of steps) {
    const timeoutMs = Math.max(deadline - Date.now(), 1)
    const result = await log.group(`${phase}: ${formatCommand(argv)}`, () =>
      runStreaming(argv, { cwd: options.cwd, timeoutMs })
    )
    runs.push({ argv, phase, ...result })
    if (result.timedOut) break
    if (phase === 'build' && result.code !== 0) break
  }
  return runs
}
