import { ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import type { ChangeMeta, Release, Router, RouterState, SlotHealth } from './router.js'
import { formatWeights, sameWeights, type Slot, type Weights } from './slots.js'

/** The members of a fleet report different weights; `states` is what each reported. */
export class RoutersDisagree extends ToolError {
  constructor(
    message: string,
    readonly states: RouterState[]
  ) {
    super(message)
  }
}

/**
 * Several load balancers (an HA pair, a fleet) driven as one: they must agree before anything
 * changes, get the same change, and are all put back if any of them fails.
 */
export class FleetRouter implements Router {
  readonly name: string

  /** What each member reported at the last read: what an undo restores. */
  private lastRead?: RouterState[]

  constructor(readonly members: Router[]) {
    this.name = members.length === 1 ? members[0].name : `${members.length} load balancers`
  }

  async read(): Promise<RouterState> {
    const states = await Promise.all(this.members.map((m) => m.read()))
    this.lastRead = states
    const first = states[0]
    const disagree = states.some((s) => !sameWeights(s.weights, first.weights))
    if (disagree) {
      const lines = states.map((s, i) => `${this.members[i].name}: ${formatWeights(s.weights)}`)
      throw new RoutersDisagree(
        `the load balancers disagree about where traffic goes, so nothing was changed:\n  ${lines.join('\n  ')}\n` +
          'Bring them into line first (deploy-bluegreen mode: rollback with target-slot, or fix by hand).',
        states
      )
    }
    const previous = states.find((s) => s.previous)?.previous
    return { ...first, previous, detail: this.name }
  }

  async setWeights(weights: Weights, meta: ChangeMeta): Promise<void> {
    if (this.members.length === 1) return this.members[0].setWeights(weights, meta)
    // Undo restores what the plan was made from; a member may already be unreachable now.
    const before = this.lastRead ?? (await Promise.all(this.members.map((m) => m.read())))
    const applied: number[] = []
    try {
      for (const [i, member] of this.members.entries()) {
        applied.push(i)
        await member.setWeights(weights, meta)
      }
    } catch (error) {
      const undo: string[] = []
      for (const i of applied.reverse()) {
        try {
          await this.members[i].setWeights(before[i].weights, {
            previous: meta.previous,
            reason: 'undo'
          })
          undo.push(`${this.members[i].name}: restored ${formatWeights(before[i].weights)}`)
        } catch (undoError) {
          undo.push(`${this.members[i].name}: COULD NOT RESTORE (${(undoError as Error).message})`)
        }
      }
      throw new ToolError(
        `${(error as Error).message}\nThe change was undone on every load balancer it reached:\n  ${undo.join('\n  ')}`
      )
    }
  }

  /** Down if any load balancer that can tell says so (each one must be able to serve it). */
  async slotHealth(slot: Slot): Promise<SlotHealth | undefined> {
    const known: SlotHealth[] = []
    for (const m of this.members) {
      const h = await m.slotHealth?.(slot)
      if (h) known.push({ up: h.up, detail: `${m.name}: ${h.detail}` })
    }
    if (known.length === 0) return undefined
    const down = known.filter((h) => !h.up)
    return down.length
      ? { up: false, detail: down.map((h) => h.detail).join('; ') }
      : { up: true, detail: known.map((h) => h.detail).join('; ') }
  }

  async lock(owner: string, waitMs: number): Promise<Release> {
    const releases: Release[] = []
    try {
      for (const m of this.members) releases.push(await m.lock(owner, waitMs))
    } catch (error) {
      for (const r of releases.reverse()) await r().catch(() => undefined)
      throw error
    }
    const waitedFor = releases.find((r) => r.waitedFor)?.waitedFor
    const release = async (): Promise<void> => {
      for (const r of releases.reverse()) {
        await r().catch((e: unknown) =>
          log.warning(`could not release a router lock: ${String(e)}`)
        )
      }
    }
    return Object.assign(release, { waitedFor })
  }
}
