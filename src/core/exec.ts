import { spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ToolError } from './errors.js'
import { log, redact } from './log.js'

export interface CommandOptions {
  env?: Record<string, string | undefined>
  cwd?: string
  /** Written to the command's standard input, then closed; a stream is piped (large input). */
  input?: string | Buffer | Readable
  timeoutMs?: number
  /** Values to mask in anything logged or returned (passwords, keys). */
  secrets?: string[]
  /** Log the command line before running it (default true). */
  echo?: boolean
  /** Pass the output on to the job log as it is written (a long build stays visible live). */
  passThrough?: boolean
  /** Called with each line of output (stdout and stderr); a line over 64 KB is cut. */
  onLine?: (line: string) => void
  /** Keep the output in the result (default true); false for commands whose output is unbounded. */
  capture?: boolean
  /** After a timeout's SIGTERM, how long before SIGKILL (default 2 s). */
  killGraceMs?: number
  /**
   * Every command runs as the leader of its own process group (helpers it forks, pg_restore -j
   * workers, stop with it); kept so callers can say they rely on it.
   */
  processGroup?: boolean
  /** Aborting stops the command as a timeout does (SIGTERM, then SIGKILL); `aborted` says so. */
  signal?: AbortSignal
  /** Told the process id once started (also the group id). */
  onSpawn?: (pid: number) => void
}

export interface CommandResult {
  code: number
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
  /** Stopped because `signal` was aborted. */
  aborted?: boolean
  durationMs: number
  /** A streamed input that could not be read to the end (the command saw a cut input). */
  inputError?: Error
}

function scrub(text: string, secrets: string[]): string {
  let out = redact(text)
  for (const s of secrets) if (s) out = out.split(s).join('***')
  return out
}

/** Shows an argument list the way a reader can paste it, without implying a shell ran it. */
export function formatCommand(argv: string[]): string {
  return argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ')
}

/** Process groups of the commands still running: ended when this process exits. */
const running = new Set<number>()
let exitHookInstalled = false

/** Ends a command's whole process group (a test runner's workers, a deploy script's children). */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}

function trackGroup(pid: number | undefined): void {
  if (!pid) return
  running.add(pid)
  if (exitHookInstalled) return
  exitHookInstalled = true
  // A cancelled or failing run exits with commands still going: leave none behind.
  process.on('exit', () => {
    for (const group of running) killGroup(group, 'SIGKILL')
  })
  // A command in its own group no longer gets the terminal's Ctrl-C or a signal meant for us:
  // pass it on. Without another listener (a cancel cleanup), keep Node's default: exit on it.
  const forward = (signal: NodeJS.Signals): void => {
    for (const group of running) killGroup(group, signal)
    if (process.listenerCount(signal) === 1) {
      process.off(signal, forward)
      process.kill(process.pid, signal)
    }
  }
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
}

/** Splits a stream's chunks into lines for `onLine`; the last partial line comes at the end. */
function lineSplitter(onLine: (line: string) => void): { push(d: Buffer): void; end(): void } {
  let partial = ''
  return {
    push(d) {
      const lines = (partial + d.toString('utf8')).split('\n')
      // A line longer than 64 KB is not a status line worth scanning: do not keep growing it.
      partial = (lines.pop() ?? '').slice(-65536)
      for (const line of lines) onLine(line)
    },
    end() {
      if (partial) onLine(partial)
      partial = ''
    }
  }
}

/**
 * Runs a program from an argument array. Never goes through a shell, so no input can be
 * interpreted as shell syntax. Output is captured; the exit code is returned, not thrown.
 * The command runs in a process group of its own: a timeout (or this process exiting) ends
 * the whole group, so a grandchild the command started cannot outlive it.
 */
export function runCommand(argv: string[], options: CommandOptions = {}): Promise<CommandResult> {
  if (argv.length === 0) throw new ToolError('runCommand: empty argument list')
  const secrets = options.secrets ?? []
  for (const s of secrets) log.secret(s)
  if (options.echo !== false) log.info(`$ ${scrub(formatCommand(argv), secrets)}`)
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: { ...process.env, ...options.env } as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
      detached: true
    })
    trackGroup(child.pid)
    const out: Buffer[] = []
    const err: Buffer[] = []
    const capture = options.capture !== false
    let timedOut = false
    let aborted = false
    const stop = (): void => {
      killGroup(child.pid, 'SIGTERM')
      setTimeout(() => {
        killGroup(child.pid, 'SIGKILL')
        if (child.pid) running.delete(child.pid)
      }, options.killGraceMs ?? 2000).unref()
    }
    if (child.pid !== undefined) options.onSpawn?.(child.pid)
    const onAbort = (): void => {
      aborted = true
      stop()
    }
    if (options.signal?.aborted) onAbort()
    else options.signal?.addEventListener('abort', onAbort, { once: true })
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true
            stop()
          }, options.timeoutMs)
    for (const [from, kept, to] of [
      [child.stdout, out, process.stdout],
      [child.stderr, err, process.stderr]
    ] as const) {
      const lines = options.onLine ? lineSplitter(options.onLine) : undefined
      from.on('data', (d: Buffer) => {
        if (capture) kept.push(d)
        if (options.passThrough) to.write(d)
        lines?.push(d)
      })
      if (lines) from.on('end', () => lines.end())
    }
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      if (child.pid) running.delete(child.pid)
      const hint = e.code === 'ENOENT' ? ' (program not found on PATH)' : ''
      reject(new ToolError(`could not start \`${argv[0]}\`${hint}: ${e.message}`, { cause: e }))
    })
    let feeding: Promise<Error | undefined> = Promise.resolve(undefined)
    child.stdin.on('error', () => undefined)
    if (options.input === undefined) child.stdin.end()
    else if (typeof options.input === 'string' || Buffer.isBuffer(options.input))
      child.stdin.end(options.input)
    else {
      // A command that stops early (psql ON_ERROR_STOP) closes its stdin: not a reading error.
      feeding = pipeline(options.input, child.stdin).then(
        () => undefined,
        (e: NodeJS.ErrnoException) =>
          e.code === 'EPIPE' || e.code === 'ERR_STREAM_PREMATURE_CLOSE' ? undefined : e
      )
    }
    child.on('close', async (code, signal) => {
      if (timer) clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      // After a timeout or abort the group stays listed until its SIGKILL: a grandchild may
      // ignore TERM; helpers of the group may outlive the leader and get the same end.
      if (child.pid && !timedOut && !aborted) running.delete(child.pid)
      const inputError = await feeding
      resolve({
        code: code ?? 128,
        signal,
        stdout: scrub(Buffer.concat(out).toString('utf8'), secrets),
        stderr: scrub(Buffer.concat(err).toString('utf8'), secrets),
        timedOut,
        aborted,
        durationMs: Date.now() - started,
        inputError
      })
    })
  })
}

/** Like runCommand, but a non-zero exit becomes a ToolError carrying the command's stderr. */
export async function runChecked(
  argv: string[],
  options: CommandOptions = {}
): Promise<CommandResult> {
  const result = await runCommand(argv, options)
  if (result.code !== 0 || result.timedOut) {
    const why = result.timedOut
      ? `timed out after ${options.timeoutMs} ms`
      : `exited with ${result.code}`
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-10).join('\n')
    throw new ToolError(`\`${formatCommand([argv[0]])}\` ${why}${detail ? `: ${detail}` : ''}`)
  }
  return result
}
