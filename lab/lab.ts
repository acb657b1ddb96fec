import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ManagedProcess } from './process.js'

/**
 * A scratch area plus the servers started in it. Every service module (lab/services/*) starts
 * its server through lab.spawn(), so lab.stop() ends all of them, in reverse order, and
 * removes the directory (set OPS_LAB_KEEP=1 to keep it for debugging).
 */
export class Lab {
  private readonly processes: ManagedProcess[] = []
  private readonly cleanups: (() => Promise<void> | void)[] = []
  private stopped = false

  private constructor(readonly dir: string) {}

  static create(prefix = 'ops-lab-'): Lab {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    // Servers that drop root (postgres, nginx workers) must be able to reach their files.
    chmodSync(dir, 0o755)
    mkdirSync(join(dir, 'logs'))
    return new Lab(dir)
  }

  /** A path inside the lab's directory; nothing is created (mkdir() does that). */
  path(...parts: string[]): string {
    return join(this.dir, ...parts)
  }

  mkdir(...parts: string[]): string {
    const p = join(this.dir, ...parts)
    mkdirSync(p, { recursive: true, mode: 0o755 })
    return p
  }

  spawn(
    name: string,
    argv: string[],
    options: { cwd?: string; env?: Record<string, string> } = {}
  ): ManagedProcess {
    if (this.stopped) throw new Error('lab already stopped')
    const proc = new ManagedProcess(name, argv, {
      ...options,
      logFile: join(this.dir, 'logs', `${name}.log`)
    })
    this.processes.push(proc)
    return proc
  }

  /** Registers extra cleanup (run before processes are stopped, in reverse order). */
  onStop(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn)
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn()
      } catch {
        // keep stopping the rest
      }
    }
    for (const proc of [...this.processes].reverse()) await proc.stop()
    if (!process.env.OPS_LAB_KEEP) rmSync(this.dir, { recursive: true, force: true })
  }
}
