import type {
  ChangeMeta,
  Release,
  Router,
  RouterState,
  SlotHealth
} from '../../src/traffic/router.js'
import type { Slot, Weights } from '../../src/traffic/slots.js'

/**
 * A router in memory, for the release flows' decisions: each hook injects one fault (a write
 * that applies then fails, another run acting while this one waits for the lock, a dead slot).
 */
export class MemoryRouter implements Router {
  readonly name = 'memory'
  changes: { weights: Weights; meta: ChangeMeta }[] = []
  health: Partial<Record<Slot, SlotHealth>> = {}
  /** Runs inside setWeights after the weights were applied (throw to fail "after apply"). */
  afterApply?: (weights: Weights) => void
  /** Runs while lock() "waits": what another run does meanwhile. */
  whileWaiting?: (router: MemoryRouter) => void
  waitedFor?: string

  constructor(
    public weights: Weights,
    public previous?: Slot
  ) {}

  async read(): Promise<RouterState> {
    return { weights: { ...this.weights }, previous: this.previous, detail: this.name }
  }

  async setWeights(weights: Weights, meta: ChangeMeta): Promise<void> {
    this.weights = { ...weights }
    this.previous = meta.previous
    this.changes.push({ weights: { ...weights }, meta })
    this.afterApply?.(weights)
  }

  async lock(): Promise<Release> {
    this.whileWaiting?.(this)
    return Object.assign(async () => undefined, { waitedFor: this.waitedFor })
  }

  async slotHealth(slot: Slot): Promise<SlotHealth | undefined> {
    return this.health[slot]
  }
}
