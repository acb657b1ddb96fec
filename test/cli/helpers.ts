import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const launcher = fileURLToPath(new URL('../../bin/ops-actions.js', import.meta.url))

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the built CLI (bin/ops-actions.js -> cli/dist/index.js) as a child process. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [launcher, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** The trailing `name=value` lines the CLI prints after the summary. */
export function outputsOf(stdout: string, names: string[]): Record<string, string> {
  const found: Record<string, string> = {}
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0 && names.includes(line.slice(0, eq))) found[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return found
}
