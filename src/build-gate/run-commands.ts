import { spawn } from 'node:child_process'
import { ToolError } from '../core/errors.js'
import { formatCommand } from '../core/exec.js'
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

/** Ends the command's whole process group (a test runner's workers too), politely first. */
function killGroup(pid: number | undefined): void {
  if (!pid) return
  for (const [signal, delay] of [
    ['SIGTERM', 0],
    ['SIGKILL', 5000]
  ] as const) {
    setTimeout(() => {
      try {
        process.kill(-pid, signal)
      } catch {
        // already gone
      }
    }, delay).unref()
  }
}

/**
 * Runs one command from an argument list (never a shell) with its output passed on to the job
 * log as it is written, so a long build is visible live, and read line by line for failures
 * its reports will not show. Exit status is returned, not thrown.
 */
export function runStreaming(
  argv: string[],
  options: StreamOptions
): Promise<{ code: number | null; timedOut: boolean; durationMs: number; unreported: string[] }> {
  const started = Date.now()
  const scan = newScan()
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
      detached: true
    })
    for (const [from, to] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr]
    ] as const) {
      let partial = ''
      from.on('data', (chunk: Buffer) => {
        to.write(chunk)
        const lines = (partial + chunk.toString('utf8')).split('\n')
        // A line longer than 64 KB is not a runner's status line: do not keep growing it.
        partial = (lines.pop() ?? '').slice(-65536)
        for (const line of lines) scanLine(scan, line)
      })
      from.on('end', () => partial && scanLine(scan, partial))
    }
    const onExit = (): void => killGroup(child.pid)
    process.once('exit', onExit)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      killGroup(child.pid)
    }, options.timeoutMs)
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      process.off('exit', onExit)
      const hint = e.code === 'ENOENT' ? ' (program not found on PATH)' : ''
      reject(new ToolError(`could not start \`${argv[0]}\`${hint}: ${e.message}`, { cause: e }))
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      process.off('exit', onExit)
      resolve({ code, timedOut, durationMs: Date.now() - started, unreported: scan.found })
    })
  })
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
