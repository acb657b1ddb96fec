import { hostname } from 'node:os'
import { sleep } from '../core/duration.js'
import { ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import type { Release } from './router.js'
import type { Transport } from './transport.js'

/** A holder renews its lease this often; a lease not renewed for LEASE_MS is stale. */
export const LEASE_MS = 45_000
const RENEW_MS = 10_000

interface Holder {
  owner: string
  host: string
  pid: number
  expires: number
}

function parseHolder(text: string): Holder | undefined {
  try {
    return JSON.parse(text) as Holder
  } catch {
    return undefined
  }
}

/** Dead if it ran on this machine and its process is gone, or if its lease ran out. */
function isStale(h: Holder): boolean {
  if (Date.now() > h.expires) return true
  if (h.host === hostname()) {
    try {
      process.kill(h.pid, 0)
      return false
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH'
    }
  }
  return false
}

/**
 * A lock directory next to what the router changes. `mkdir` is atomic on every POSIX file
 * system, locally and over SSH, so of two runs exactly one gets it; the other waits up to
 * `waitMs`, then fails saying who holds it. A run that was killed leaves its lock behind: it is
 * taken over at once when the killed process was on this machine, else when its lease expires.
 */
export async function takeDirectoryLock(
  t: Transport,
  path: string,
  owner: string,
  waitMs: number
): Promise<Release> {
  const deadline = Date.now() + waitMs
  const holderFile = `${path}/holder.json`
  const writeHolder = (): Promise<unknown> =>
    t.run(['tee', holderFile], {
      input: JSON.stringify({
        owner,
        host: hostname(),
        pid: process.pid,
        expires: Date.now() + LEASE_MS
      })
    })
  let announced = false
  for (;;) {
    const made = await t.run(['mkdir', path])
    if (made.code === 0) {
      await writeHolder()
      const timer = setInterval(() => void writeHolder().catch(() => undefined), RENEW_MS)
      timer.unref()
      return async () => {
        clearInterval(timer)
        await t.run(['rm', '-rf', path])
      }
    }
    if ((await t.run(['test', '-d', path])).code !== 0) {
      throw new ToolError(`${t.name}: cannot create lock ${path}: ${made.stderr.trim()}`)
    }
    const holder = parseHolder((await t.run(['cat', holderFile])).stdout)
    if (holder && isStale(holder)) {
      log.warning(`taking over the lock ${path} left by a run that is gone (${holder.owner})`)
      await t.run(['rm', '-rf', path])
      continue
    }
    if (!holder) {
      // Created a moment ago and not yet written, or left empty by a run killed in between.
      const age = await t.run(['find', path, '-maxdepth', '0', '-mmin', '+1'])
      if (age.stdout.trim()) {
        log.warning(`taking over the empty lock ${path}`)
        await t.run(['rm', '-rf', path])
        continue
      }
    }
    if (Date.now() >= deadline) {
      throw new ToolError(
        `${t.name}: another run holds the router lock ${path} (${holder?.owner ?? 'unknown'}); ` +
          `waited ${Math.round(waitMs / 1000)}s and changed nothing. Try again when it has finished.`
      )
    }
    if (!announced) {
      log.info(`waiting for the router lock ${path}, held by ${holder?.owner ?? 'another run'}`)
      announced = true
    }
    await sleep(300)
  }
}
