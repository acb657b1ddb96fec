import type {
  ChangeMeta,
  Release,
  Router,
  RouterState,
  SlotHealth
} from '../../src/traffic/router.js'
import type { Slot, Weights } from '../../src/traffic/slots.js'
import type { BlueGreenOptions } from '../../src/release/bluegreen.js'
import type { CanaryOptions } from '../../src/release/canary.js'
import { DEFAULT_QUERIES } from '../../src/slo/queries.js'

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

/** A manual rollback with fast health settings, for the blue-green flows on a MemoryRouter. */
export const ROLLBACK_OPTIONS: BlueGreenOptions = {
  mode: 'rollback',
  autoRollback: true,
  owner: 'test',
  lockTimeoutMs: 1000,
  healthUrls: {},
  health: { consecutive: 1, intervalMs: 10, timeoutMs: 100 },
  healthOnRollback: false
}

/** A two-step canary with tiny durations, for the canary flows on a MemoryRouter. */
export const CANARY_OPTIONS: CanaryOptions = {
  steps: [50, 100],
  stepDurationMs: 10,
  intervalMs: 10,
  thresholds: {
    maxErrorRatePercent: 0.1,
    maxP95Ms: 500,
    minRequests: 0,
    maxErrorRateIncreasePoints: 0.5,
    maxP95IncreasePercent: 50,
    p95NoiseFloorMs: 50,
    // these flows are about planning; the fake Prometheus serves 0 requests, which the
    // interval rule never passes (that rule: test/slo/interval-judgement.test.ts)
    errorJudgement: 'point'
  },
  queries: DEFAULT_QUERIES,
  canarySelector: 'slot="{{canary}}"',
  stableSelector: 'slot="{{stable}}"',
  extraChecks: [],
  failureLimit: 0,
  maxInconclusive: 2,
  compareWithStable: false,
  owner: 'test',
  lockTimeoutMs: 1000
}
