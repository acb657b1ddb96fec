import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { sleep } from '../core/duration.js'
import { ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import {
  describeRef,
  isConflict,
  type KubeClient,
  type KubeObject,
  type ObjectRef
} from './client.js'

export const LOCK_ANNOTATION = 'ops-actions.io/lock'

export interface LockHolder {
  owner: string
  host: string
  /** Tells this holder from another run with the same owner text. */
  id: string
  /** ISO time after which the lock is stale and may be taken over. */
  expires: string
}

export interface LockTiming {
  leaseMs: number
  renewMs: number
  pollMs: number
}

export const DEFAULT_LOCK_TIMING: LockTiming = { leaseMs: 45_000, renewMs: 10_000, pollMs: 500 }

export function readHolder(obj: KubeObject): LockHolder | undefined {
  const text = obj.metadata.annotations?.[LOCK_ANNOTATION]
  if (!text) return undefined
  try {
    const h = JSON.parse(text) as LockHolder
    return typeof h.expires === 'string' ? h : undefined
  } catch {
    return undefined
  }
}

function isStale(h: LockHolder | undefined, now = Date.now()): boolean {
  return h === undefined || !(Date.parse(h.expires) > now)
}

function annotate(obj: KubeObject, value: string | null): unknown {
  return {
    metadata: {
      resourceVersion: obj.metadata.resourceVersion,
      annotations: { [LOCK_ANNOTATION]: value }
    }
  }
}

/**
 * A lease in an annotation on the object the router changes, written with the object's
 * resourceVersion so of two runs exactly one wins (the other gets 409 Conflict and looks
 * again). The holder renews it; a lease past its expiry is stale and taken over, so a killed
 * run blocks others for at most one lease.
 */
export async function takeAnnotationLock(
  client: KubeClient,
  ref: ObjectRef,
  owner: string,
  waitMs: number,
  timing: LockTiming = DEFAULT_LOCK_TIMING
): Promise<() => Promise<void>> {
  const where = describeRef(ref)
  const me: Omit<LockHolder, 'expires'> = { owner, host: hostname(), id: randomUUID() }
  const lease = (): string =>
    JSON.stringify({ ...me, expires: new Date(Date.now() + timing.leaseMs).toISOString() })
  const deadline = Date.now() + waitMs
  let announced = false
  let conflicts = 0
  for (;;) {
    const obj = await client.get(ref)
    const holder = readHolder(obj)
    if (isStale(holder) || holder?.id === me.id) {
      if (holder)
        log.warning(
          `${where}: taking over the stale lock of ${holder.owner} (expired ${holder.expires})`
        )
      try {
        await client.mergePatch(ref, annotate(obj, lease()))
        break
      } catch (error) {
        if (!isConflict(error)) throw error
        // Someone else wrote first; look again (bounded: a lease changing this often is a bug).
        if (++conflicts > 20)
          throw new ToolError(
            `${where}: the lock annotation kept changing under 20 attempts to write it`
          )
        continue
      }
    }
    if (Date.now() >= deadline) {
      throw new ToolError(
        `${where}: another run holds the router lock (${holder!.owner} on ${holder!.host}, until ${holder!.expires}); ` +
          `waited ${Math.round(waitMs / 1000)}s and changed nothing. Try again when it has finished.`
      )
    }
    if (!announced) log.info(`${where}: waiting for the router lock held by ${holder!.owner}`)
    announced = true
    await sleep(Math.min(timing.pollMs, Math.max(0, deadline - Date.now())))
  }

  /** Rewrites or removes the lease only while it is still ours; retries a conflict a few times. */
  const update = async (value: () => string | null): Promise<void> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const obj = await client.get(ref)
      if (readHolder(obj)?.id !== me.id) return
      try {
        await client.mergePatch(ref, annotate(obj, value()))
        return
      } catch (error) {
        if (!isConflict(error)) throw error
      }
    }
  }
  const timer = setInterval(() => {
    update(lease).catch((error: Error) =>
      log.warning(`${where}: could not renew the router lock: ${error.message}`)
    )
  }, timing.renewMs)
  timer.unref()
  return async () => {
    clearInterval(timer)
    await update(() => null)
  }
}
