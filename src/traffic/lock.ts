import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { sleep } from '../core/duration.js'
import { ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import type { Release } from './router.js'
import type { Transport } from './transport.js'

/** A holder renews its lease this often; a lease not renewed for LEASE_MS is stale. */
export const LEASE_MS = 45_000
const RENEW_MS = 10_000

export interface Holder {
  owner: string
  host: string
  pid: number
  expires: number
  /** Unique per acquisition: what every destructive step checks before it acts. */
  token: string
}

function parseHolder(text: string): Holder | undefined {
  try {
    const h = JSON.parse(text) as Holder
    return typeof h === 'object' && h !== null ? h : undefined
  } catch {
    return undefined
  }
}

/** Dead if it ran on this machine and its process is gone, or if its lease ran out. */
export function isStale(h: Holder, now = Date.now(), here = hostname()): boolean {
  if (now > h.expires) return true
  if (h.host === here) {
    try {
      process.kill(h.pid, 0)
      return false
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH'
    }
  }
  return false
}

export interface LockTiming {
  renewMs?: number
  leaseMs?: number
}

/**
 * A lock directory next to what the router changes. The directory is born complete: built
 * under a private name with its holder file, then renamed into place (`mv -T` onto an existing
 * directory fails), so a lock never exists without a holder. Taking over a stale lock and
 * releasing one both first win `mkdir <lock>/claim` (atomic, one winner per lock instance) and
 * then check the holder's token in that same instance, so a run can never remove a lock it does
 * not hold, even with slow SSH round trips between the steps. Renewal checks the token too and
 * reports a lost lock instead of overwriting the new holder.
 */
export async function takeDirectoryLock(
  t: Transport,
  path: string,
  owner: string,
  waitMs: number,
  timing: LockTiming = {}
): Promise<Release> {
  const leaseMs = timing.leaseMs ?? LEASE_MS
  const renewMs = timing.renewMs ?? RENEW_MS
  const deadline = Date.now() + waitMs
  const token = randomUUID()
  const holderFile = `${path}/holder.json`
  const holder = (): string =>
    JSON.stringify({
      owner,
      host: hostname(),
      pid: process.pid,
      expires: Date.now() + leaseMs,
      token
    } satisfies Holder)
  let announced = false
  let waitedFor: string | undefined
  for (;;) {
    if (await create(t, path, holder())) {
      let lost = false
      const renew = async (): Promise<void> => {
        if (lost) return
        const now = parseHolder((await t.run(['cat', holderFile])).stdout)
        if (now?.token !== token) {
          lost = true
          log.error(
            `the router lock ${path} was taken over (now held by ${now?.owner ?? 'nobody'}); this run no longer holds it`
          )
          return
        }
        // Someone is judging this lock right now; renew next round rather than race them.
        if ((await t.run(['test', '-e', `${path}/claim`])).code === 0) return
        await writeInside(t, path, 'holder.json', holder())
      }
      const timer = setInterval(() => void renew().catch(() => undefined), renewMs)
      timer.unref()
      const release = async (): Promise<void> => {
        clearInterval(timer)
        // A taker judging the lock holds its claim for a moment: try a few times.
        for (let i = 0; i < 10 && !lost; i++) {
          if (await removeIfHeld(t, path, (h) => h?.token === token)) return
          const h = parseHolder((await t.run(['cat', holderFile])).stdout)
          if (h?.token !== token) return
          await sleep(200)
        }
      }
      // Who held the lock while this run waited: its plan must not assume nothing happened.
      return Object.assign(release, { waitedFor })
    }
    const seen = parseHolder((await t.run(['cat', holderFile])).stdout)
    if (seen && isStale(seen)) {
      if (await removeIfHeld(t, path, (h) => h?.token === seen.token && isStale(h))) {
        log.warning(`took over the lock ${path} left by a run that is gone (${seen.owner})`)
      }
      continue
    }
    if (!seen && (await t.run(['test', '-d', path])).code === 0) {
      // Only a lock written by an older version can lack a holder; clear it once it is old.
      const age = await t.run(['find', path, '-maxdepth', '0', '-mmin', '+1'])
      if (age.stdout.trim() && (await removeIfHeld(t, path, (h) => h === undefined))) {
        log.warning(`took over the empty lock ${path}`)
        continue
      }
    }
    if (Date.now() >= deadline) {
      throw new ToolError(
        `${t.name}: another run holds the router lock ${path} (${seen?.owner ?? 'unknown'}); ` +
          `waited ${Math.round(waitMs / 1000)}s and changed nothing. Try again when it has finished.`
      )
    }
    if (!announced) {
      log.info(`waiting for the router lock ${path}, held by ${seen?.owner ?? 'another run'}`)
      announced = true
      waitedFor = seen?.owner ?? 'another run'
    }
    await sleep(300)
  }
}

/** Builds the lock under a private name, then renames it into place; false if one exists. */
async function create(t: Transport, path: string, holder: string): Promise<boolean> {
  const draft = `${path}.new-${randomUUID()}`
  const made = await t.run(['mkdir', draft])
  if (made.code !== 0) {
    throw new ToolError(`${t.name}: cannot create lock ${draft}: ${made.stderr.trim()}`)
  }
  const write = await t.run(['tee', `${draft}/holder.json`], { input: holder })
  if (write.code !== 0) {
    await t.run(['rm', '-rf', draft])
    throw new ToolError(`${t.name}: cannot write ${draft}/holder.json: ${write.stderr.trim()}`)
  }
  const moved = await t.run(['mv', '-T', draft, path])
  if (moved.code === 0) return true
  await t.run(['rm', '-rf', draft])
  return false
}

/** Rewrites a file inside the lock with temp + rename, so a reader never sees half of it. */
async function writeInside(t: Transport, dir: string, name: string, text: string): Promise<void> {
  const tmp = `${dir}/.${name}.${randomUUID()}`
  if ((await t.run(['tee', tmp], { input: text })).code === 0) {
    await t.run(['mv', '-f', tmp, `${dir}/${name}`])
  }
}

/**
 * Removes the lock only if `ok(holder)` holds for the instance this run claimed: win
 * `mkdir <lock>/claim`, read the holder inside, then move the whole instance aside and delete it.
 */
async function removeIfHeld(
  t: Transport,
  path: string,
  ok: (h: Holder | undefined) => boolean
): Promise<boolean> {
  const claim = `${path}/claim`
  if ((await t.run(['mkdir', claim])).code !== 0) return false
  const h = parseHolder((await t.run(['cat', `${path}/holder.json`])).stdout)
  if (!ok(h)) {
    await t.run(['rmdir', claim])
    return false
  }
  const aside = `${path}.gone-${randomUUID()}`
  const moved = await t.run(['mv', '-T', path, aside])
  await t.run(['rm', '-rf', moved.code === 0 ? aside : claim])
  return moved.code === 0
}
