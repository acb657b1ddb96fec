import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, readFileSync } from 'node:fs'

const alive = new Set<ChildProcess>()
let exitHookInstalled = false

/** Whatever happens to the test process, no lab server outlives it. */
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const child of alive) {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
    }
  })
}

export interface StartOptions {
  cwd?: string
  env?: Record<string, string>
  logFile: string
}

/** A server process the lab started: its log goes to a file, stop() always ends it. */
export class ManagedProcess {
  readonly child: ChildProcess
  private exited: Promise<number | null>
  exitCode: number | null | undefined = undefined

  constructor(
    readonly name: string,
    readonly argv: string[],
    readonly options: StartOptions
  ) {
    installExitHook()
    const log = createWriteStream(options.logFile, { flags: 'a' })
    // Own process group, so stop() also ends the server's workers (nginx, haproxy -W).
    this.child = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true
    })
    // Two pipes share the log: neither may end it (the other would then write after its end,
    // ERR_STREAM_WRITE_AFTER_END); it ends once the child's streams are all closed.
    this.child.stdout?.pipe(log, { end: false })
    this.child.stderr?.pipe(log, { end: false })
    this.child.on('close', () => log.end())
    alive.add(this.child)
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        alive.delete(this.child)
        this.exitCode = code ?? (signal ? 128 : null)
        resolve(this.exitCode)
      })
      this.child.on('error', () => {
        alive.delete(this.child)
        this.exitCode = 127
        resolve(127)
      })
    })
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  get running(): boolean {
    return this.exitCode === undefined
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.options.logFile, 'utf8').split('\n').slice(-lines).join('\n')
    } catch {
      return ''
    }
  }

  /** Polls `ready` until it returns true; fails early with the log if the process died. */
  async waitReady(ready: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(
          `${this.name} exited (${this.exitCode}) before it was ready:\n${this.logTail()}`
        )
      }
      try {
        if (await ready()) return
      } catch {
        // not ready yet
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    await this.stop()
    throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.logTail()}`)
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running && this.pid) process.kill(this.pid, sig)
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running || !this.pid) return
    const group = -this.pid
    try {
      process.kill(group, 'SIGTERM')
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(group, 'SIGKILL')
      } catch {
        // already gone
      }
    }, graceMs)
    await this.exited
    clearTimeout(timer)
    // Workers of a master that died first may linger in the group.
    try {
      process.kill(group, 'SIGKILL')
    } catch {
      // none left
    }
  }

  wait(): Promise<number | null> {
    return this.exited
  }
}

/** True when an HTTP GET answers with a 2xx within a second. */
export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
  await res.arrayBuffer()
  return res.ok
}
