/** The two slots of a service and the share of traffic (percent) each receives. */
export type Slot = 'blue' | 'green'
export const SLOTS: readonly Slot[] = ['blue', 'green']

export type Weights = Record<Slot, number>

export function otherSlot(slot: Slot): Slot {
  return slot === 'blue' ? 'green' : 'blue'
}

/** All traffic on one slot. */
export function allOn(slot: Slot): Weights {
  return slot === 'blue' ? { blue: 100, green: 0 } : { blue: 0, green: 100 }
}

/** `canary` gets `percent`, the other slot the rest. */
export function split(canary: Slot, percent: number): Weights {
  const w = Math.max(0, Math.min(100, Math.round(percent)))
  return canary === 'blue' ? { blue: w, green: 100 - w } : { blue: 100 - w, green: w }
}

export function sameWeights(a: Weights, b: Weights): boolean {
  return a.blue === b.blue && a.green === b.green
}

export function formatWeights(w: Weights): string {
  return `blue ${w.blue}% / green ${w.green}%`
}

export type Placement =
  | { kind: 'single'; live: Slot }
  | { kind: 'split'; stable: Slot; canary: Slot; canaryWeight: number }
  | { kind: 'none' }

/**
 * What the weights mean. A split is a canary in progress (or an interrupted one): the stable
 * slot is the recorded previous-live slot when there is one, else the heavier slot.
 */
export function placement(weights: Weights, previous?: Slot): Placement {
  if (weights.blue > 0 && weights.green === 0) return { kind: 'single', live: 'blue' }
  if (weights.green > 0 && weights.blue === 0) return { kind: 'single', live: 'green' }
  if (weights.blue === 0 && weights.green === 0) return { kind: 'none' }
  let stable: Slot
  if (previous) stable = previous
  else if (weights.blue !== weights.green) stable = weights.blue > weights.green ? 'blue' : 'green'
  else stable = 'blue'
  const canary = otherSlot(stable)
  const total = weights.blue + weights.green
  return {
    kind: 'split',
    stable,
    canary,
    canaryWeight: Math.round((weights[canary] / total) * 100)
  }
}
