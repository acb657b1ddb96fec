import { describe, expect, test } from '@jest/globals'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { runCommand } from '../../src/core/exec.js'
import { runStreaming } from '../../src/build-gate/run-commands.js'

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Polls (bounded) until the process is gone; a reaped grandchild may take a moment. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100))
  return !alive(pid)
}

// `sh` starts a grandchild that does not hold the pipes (so `close` comes when sh dies) and
// prints its pid; killing only `sh` would leave the 60 s sleep running.
const withGrandchild = ['sh', '-c', 'sleep 60 >/dev/null 2>&1 & echo $!; wait']
// Long enough for sh to start and print the pid on a loaded machine before the timeout hits.
const timeoutMs = 2000

describe('runCommand', () => {
  test('a timeout ends the whole process group: the grandchild is killed too', async () => {
    const r = await runCommand(withGrandchild, { timeoutMs, echo: false })
    expect(r.timedOut).toBe(true)
    const grandchild = Number(r.stdout.trim())
    expect(grandchild).toBeGreaterThan(1)
    expect(await gone(grandchild)).toBe(true)
  })

  test('the build gate runner (same runner) kills the grandchild too', async () => {
    let grandchild = 0
    const r = await runCommand(withGrandchild, {
      timeoutMs,
      echo: false,
      capture: false,
      onLine: (line) => (grandchild ||= Number(line))
    })
    expect(r.stdout).toBe('')
    expect(grandchild).toBeGreaterThan(1)
    expect(await gone(grandchild)).toBe(true)
    const s = await runStreaming(['sh', '-c', 'echo FAILED: x; exit 3'], {
      cwd: '.',
      timeoutMs: 5000
    })
    expect(s).toMatchObject({ code: 3, timedOut: false })
  })

  test.each([
    ['one line', 'printf "a\\n"', ['a']],
    ['last line without newline', 'printf "a\\nb"', ['a', 'b']],
    ['stdout and stderr apart', 'printf "o1\\n"; printf "e1\\n" >&2', ['o1', 'e1']],
    ['empty output', 'true', []]
  ])('onLine: %s', async (_name, script, expected) => {
    const lines: string[] = []
    const r = await runCommand(['sh', '-c', script], { echo: false, onLine: (l) => lines.push(l) })
    expect(r.code).toBe(0)
    expect(lines.sort()).toEqual([...expected].sort())
  })

  test('without a timeout a command that exits is not marked timed out', async () => {
    const r = await runCommand(['sh', '-c', 'echo hi; exit 4'], { echo: false })
    expect(r).toMatchObject({ code: 4, timedOut: false, stdout: 'hi\n' })
  })

  test.each([
    ['SIGTERM', 'grandchild'],
    ['SIGINT', 'child']
  ] as const)(
    '%s to a run without a cancel handler ends it and its command (%s) too',
    async (signal, watched) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'run-and-wait.ts'), watched],
        {
          stdio: ['ignore', 'pipe', 'inherit']
        }
      )
      const grandchild = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => resolve(Number(String(d).trim())))
        child.on('exit', () => reject(new Error('the run ended before printing')))
      })
      expect(grandchild).toBeGreaterThan(1)
      const ended = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)))
      child.kill(signal)
      expect(await ended).toBe(signal)
      expect(await gone(grandchild)).toBe(true)
    }
  )
})
