import type { Slot, Weights } from './slots.js'

/** What a router reports: the weights it applies now and what it recorded of the last change. */
export interface RouterState {
  weights: Weights
  /**
   * The slot that was live before the last change, where the router records it. Equal to the
   * live slot when the last change undid a failed release (a canary aborted, a switch rolled
   * back after its verification): the idle slot then holds that failed release, so there is
   * nothing to roll back to (see `failedReleaseIdle`).
   */
  previous?: Slot
  changedAt?: string
  /**
   * What the router itself knows of each slot's health (HAProxy's check state; nginx: whether
   * its servers accept connections). Absent when the router cannot tell.
   */
  health?: Partial<Record<Slot, SlotHealth>>
  /** One line for logs: where this state was read from. */
  detail: string
}

export interface SlotHealth {
  up: boolean
  detail: string
}

export interface ChangeMeta {
  /**
   * The slot rollback should return to after this change (recorded as "previous"): the slot
   * live before it, or the slot this change returns to when it undoes a failed release.
   */
  previous: Slot
  reason: string
}

/** Releases a lock taken on a router; `waitedFor` names the run it had to wait for, if any. */
export type Release = (() => Promise<void>) & { waitedFor?: string }

/**
 * A traffic router: reads and sets the blue/green weights. Both operations are idempotent; a
 * setWeights that returns has been applied and read back.
 */
export interface Router {
  readonly name: string
  read(): Promise<RouterState>
  setWeights(weights: Weights, meta: ChangeMeta): Promise<void>
  /** Takes the router's lock (so two runs never interleave); waits up to `waitMs`. */
  lock(owner: string, waitMs: number): Promise<Release>
  /** What the router can tell of a slot's health; undefined when it cannot tell. */
  slotHealth?(slot: Slot): Promise<SlotHealth | undefined>
}

/**
 * True when the router records that the idle slot holds a release that failed: `previous` is
 * the live slot itself. A rollback there would send users to the release just undone.
 */
export function failedReleaseIdle(state: Pick<RouterState, 'previous'>, live: Slot): boolean {
  return state.previous === live
}
