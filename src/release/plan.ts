import { ConfigurationError } from '../core/errors.js'
import { failedReleaseIdle, type RouterState } from '../traffic/router.js'
import {
  allOn,
  formatWeights,
  otherSlot,
  placement,
  type Slot,
  type Weights
} from '../traffic/slots.js'

export type BlueGreenMode = 'deploy' | 'rollback' | 'status'

/** What a run will do, computed from the router's state alone (pure, printed before acting). */
export interface SwitchPlan {
  mode: BlueGreenMode
  before: Weights
  after: Weights
  /** The slot users are on now (the stable one when split); undefined when nothing is live. */
  from?: Slot
  to: Slot
  noop: boolean
  /** Set when the router was found mid-change (an interrupted canary or switch). */
  recovering?: string
  explanation: string
}

export function planSwitch(
  mode: 'deploy' | 'rollback',
  state: RouterState,
  target?: Slot
): SwitchPlan {
  const where = placement(state.weights, state.previous)
  const before = state.weights
  const plan = (
    from: Slot | undefined,
    to: Slot,
    explanation: string,
    recovering?: string
  ): SwitchPlan => ({
    mode,
    before,
    after: allOn(to),
    from,
    to,
    noop: where.kind === 'single' && where.live === to,
    recovering,
    explanation
  })
  if (where.kind === 'single') {
    const live = where.live
    if (mode === 'deploy') {
      const to = target ?? otherSlot(live)
      return plan(
        live,
        to,
        to === live ? `${to} is already live; nothing to switch` : `switch from ${live} to ${to}`
      )
    }
    if (!target && failedReleaseIdle(state, live)) {
      const idle = otherSlot(live)
      throw new ConfigurationError(
        `nothing to roll back to: ${live} is live and the idle slot ${idle} holds the release that ` +
          `was undone${state.changedAt ? ` at ${state.changedAt}` : ''} (a canary aborted or a ` +
          `switch rolled back after its verification; or the weights were changed by hand), so ` +
          `traffic stays on ${live}. Deploy a good ` +
          `release, or give target-slot ${idle} to send users to ${idle} anyway`,
        'target-slot'
      )
    }
    const fallback = state.previous && state.previous !== live ? state.previous : otherSlot(live)
    const to = target ?? fallback
    return plan(
      live,
      to,
      to === live
        ? `${to} is already live; nothing to roll back`
        : `roll back from ${live} to ${to}`
    )
  }
  if (where.kind === 'split') {
    const found = `the router is mid-change (${formatWeights(before)}): an interrupted canary or switch`
    if (mode === 'rollback') {
      const to = target ?? where.stable
      return plan(where.stable, to, `put all traffic back on ${to}`, found)
    }
    if (!target) {
      throw new ConfigurationError(
        `input \`target-slot\` is required here: ${found}. Give target-slot to complete the change to ` +
          `one slot, or run mode: rollback to return to ${where.stable}`,
        'target-slot'
      )
    }
    return plan(where.stable, target, `complete the change: all traffic to ${target}`, found)
  }
  const to = target ?? state.previous
  if (!to) {
    throw new ConfigurationError(
      'input `target-slot` is required here: the router sends no traffic to either slot (both weights 0)',
      'target-slot'
    )
  }
  return plan(
    undefined,
    to,
    `no slot is live; send all traffic to ${to}`,
    'the router sends traffic to no slot'
  )
}
