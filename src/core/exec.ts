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
  /**
   * Start the command as the leader of its own process group and signal the whole group on
   * timeout or abort, so helpers it forks (pg_restore -j workers) stop with it.
   */
  processGroup?: boolean
  /** Aborting stops the command as a timeout does (SIGTERM, then SIGKILL); `aborted` says so. */
  signal?: AbortSignal
  /** Told the process id once started (with processGroup, also the group id). */
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

/**
 * Runs a program from an argument array. Never goes through a shell, so no input can be
 * interpreted as shell syntax. Output is captured; the exit code is returned, not thrown.
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
      detached: options.processGroup === true
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let timedOut = false
    let aborted = false
    const kill = (signal: NodeJS.Signals): void => {
      if (!options.processGroup || child.pid === undefined) child.kill(signal)
      else
        try {
          process.kill(-child.pid, signal)
        } catch {
          // The group is already gone.
        }
    }
    const stop = (): void => {
      kill('SIGTERM')
      setTimeout(() => kill('SIGKILL'), 2000).unref()
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
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => err.push(d))
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
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
      // Helpers of the group may outlive the leader: they get the same end.
      if (options.processGroup && (timedOut || aborted)) kill('SIGKILL')
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
