// Contract test: the transport adds a delay to every command (what SSH round trips do), a fault
// the local file system cannot produce by itself. The lock runs on the real file system.
import { afterAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { takeDirectoryLock } from '../../src/traffic/lock.js'
import { LocalTransport, type Transport } from '../../src/traffic/transport.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

class SlowTransport implements Transport {
  readonly name = 'slow local'
  private readonly inner = new LocalTransport()
  constructor(private readonly delayMs: number) {}
  async run(argv: string[], options?: { input?: string; timeoutMs?: number }) {
    await sleep(this.delayMs)
    return this.inner.run(argv, options)
  }
  async close(): Promise<void> {}
}

/** A pid that surely belongs to no process: one that just exited. */
function deadPid(): number {
  return spawnSync('true').pid!
}

describe('router lock under 150 ms command latency', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it.each([
    ['a killed run on this host', () => ({ expires: Date.now() + 60_000, pid: deadPid() })],
    ['an expired lease', () => ({ expires: Date.now() - 1000, pid: process.pid })]
  ])(
    'lets exactly one of three runs take over a stale lock left by %s',
    async (_, holder) => {
      const path = join(dir, `stale-${Math.random()}.lock`)
      mkdirSync(path)
      writeFileSync(
        join(path, 'holder.json'),
        JSON.stringify({ owner: 'dead run', host: hostname(), token: 'old', ...holder() })
      )
      const t = new SlowTransport(150)
      let inside = 0
      let most = 0
      const entered: string[] = []
      await Promise.all(
        ['A', 'B', 'C'].map(async (name) => {
          const release = await takeDirectoryLock(t, path, name, 30_000)
          inside++
          most = Math.max(most, inside)
          entered.push(name)
          await sleep(600)
          inside--
          await release()
        })
      )
      expect(entered.sort()).toEqual(['A', 'B', 'C'])
      expect(most).toBe(1)
      expect(existsSync(path)).toBe(false)
    },
    60_000
  )

  it('a run whose lock was taken over neither renews over the new holder nor removes its lock', async () => {
    const path = join(dir, 'stolen.lock')
    const t = new SlowTransport(20)
    const release = await takeDirectoryLock(t, path, 'A', 5000, { renewMs: 100 })
    const theirs = JSON.stringify({
      owner: 'B',
      host: hostname(),
      pid: process.pid,
      expires: Date.now() + 60_000,
      token: 'b-token'
    })
    // What a takeover leaves: the same path, another holder.
    rmSync(path, { recursive: true })
    mkdirSync(path)
    writeFileSync(join(path, 'holder.json'), theirs)
    await sleep(500)
    expect(readFileSync(join(path, 'holder.json'), 'utf8')).toBe(theirs)
    await release()
    expect(existsSync(join(path, 'holder.json'))).toBe(true)
    expect(readFileSync(join(path, 'holder.json'), 'utf8')).toBe(theirs)
  }, 20_000)

  it('a second run waits while the holder is alive, then fails naming it', async () => {
    const path = join(dir, 'held.lock')
    const t = new SlowTransport(10)
    const release = await takeDirectoryLock(t, path, 'first run', 5000)
    await expect(takeDirectoryLock(t, path, 'second run', 800)).rejects.toThrow(
      /another run holds the router lock .*\(first run\); waited 1s and changed nothing/
    )
    await release()
    const again = await takeDirectoryLock(t, path, 'second run', 800)
    await again()
    expect(existsSync(path)).toBe(false)
  }, 20_000)
})
