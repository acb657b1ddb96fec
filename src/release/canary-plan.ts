import { GateError } from '../core/errors.js'
import { failedReleaseIdle, type RouterState } from '../traffic/router.js'
import {
  allOn,
  formatWeights,
  otherSlot,
  placement,
  sameWeights,
  type Slot,
  type Weights
} from '../traffic/slots.js'
import { planSwitch } from './plan.js'

export interface CanaryChoice {
  canary: Slot
  stable: Slot
  startStep: number
  /** Set when an interrupted canary is resumed: the canary's weight found on the router. */
  resumed?: number
}

/** Which slot is the canary: the idle one, or (resuming) the one already carrying a share. */
export function chooseCanary(
  state: Pick<RouterState, 'weights' | 'previous'>,
  steps: number[]
): CanaryChoice {
  const where = placement(state.weights, state.previous)
  if (where.kind === 'split') {
    const startStep = Math.max(
      0,
      steps.findIndex((s) => s >= where.canaryWeight)
    )
    return { canary: where.canary, stable: where.stable, startStep, resumed: where.canaryWeight }
  }
  if (where.kind === 'single')
    return { canary: otherSlot(where.live), stable: where.live, startStep: 0 }
  throw new GateError(
    'the router sends traffic to no slot (both weights 0); restore a live slot first'
  )
}

/**
 * The plan a run acts on, made from the state read after it holds the lock. `seen` is what it
 * read when it started. If traffic moved while it waited, another run was releasing: resuming
 * that canary or starting one on a slot this run did not fill would hijack the other run's
 * release (observed: half of the traffic sent back to the old version, then "promoted").
 * Only a run that puts its own version into the canary slot (deploy-command / image) may go on.
 */
export function planCanaryAfterLock(
  seen: Pick<RouterState, 'weights' | 'previous'>,
  now: Pick<RouterState, 'weights' | 'previous'>,
  steps: number[],
  deploysItsOwnVersion: boolean,
  waitedFor?: string
): CanaryChoice {
  const choice = chooseCanary(now, steps)
  if (waitedFor && !deploysItsOwnVersion) {
    // Even if the weights look as before, the other run may have finished a release meanwhile.
    throw new GateError(
      `another run (${waitedFor}) held the router lock when this run started, so slot ${choice.canary} may hold ` +
        'what that run left there, not a version this run deployed (no deploy-command or image). This run changed nothing; run it again once that run has finished.'
    )
  }
  if (sameWeights(seen.weights, now.weights)) return choice
  const moved = `traffic moved while this run waited for the router lock (${formatWeights(seen.weights)} -> ${formatWeights(now.weights)}): another run was releasing`
  if (choice.resumed !== undefined) {
    throw new GateError(
      `${moved}, and its canary is still in progress. This run changed nothing; run it again once that run has finished.`
    )
  }
  if (!deploysItsOwnVersion) {
    throw new GateError(
      `${moved}. Slot ${choice.canary} now holds what that run left there, not a version this run deployed ` +
        '(no deploy-command or image), so this run changed nothing. Run it again to release from the new state.'
    )
  }
  return choice
}

export interface ManualPlan {
  after: Weights
  /** Recorded as the previous slot when the weights change. */
  previous: Slot
  changed: boolean
  explanation: string
}

/** abort / promote / status, planned from the state read under the lock (pure). */
export function planManual(
  mode: 'abort' | 'promote' | 'status',
  state: Pick<RouterState, 'weights' | 'previous'>
): ManualPlan {
  const where = placement(state.weights, state.previous)
  const previous =
    where.kind === 'single'
      ? where.live
      : where.kind === 'split'
        ? where.stable
        : (state.previous ?? 'blue')
  const same = (explanation: string): ManualPlan => ({
    after: state.weights,
    previous,
    changed: false,
    explanation
  })
  if (mode === 'status') {
    return same(
      where.kind === 'split'
        ? `canary ${where.canary} at ${where.canaryWeight}%`
        : where.kind === 'single'
          ? `${where.live} live, no canary`
          : 'no slot live'
    )
  }
  if (mode === 'abort') {
    if (where.kind === 'single' && failedReleaseIdle(state, where.live)) {
      return same(
        `no canary in progress; ${where.live} is live and the last release was already undone`
      )
    }
    const plan = planSwitch('rollback', { ...state, detail: '' })
    if (plan.noop) return same(plan.explanation)
    // Right after a promotion, abort is the undo: back to the recorded previous slot, which is
    // then recorded as having nothing behind it (the aborted release is in the idle slot).
    return {
      after: plan.after,
      previous: plan.to,
      changed: true,
      explanation: `abort: ${plan.explanation}`
    }
  }
  if (where.kind !== 'split') return same('no canary in progress; nothing to promote')
  return {
    after: allOn(where.canary),
    previous,
    changed: true,
    explanation: `promote ${where.canary} to 100% without further analysis`
  }
}
