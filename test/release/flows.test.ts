import { describe, expect, it } from '@jest/globals'
import { previewBlueGreen, runBlueGreen } from '../../src/release/bluegreen.js'
import { previewCanary, runCanary } from '../../src/release/canary.js'
import type { PrometheusClient } from '../../src/slo/prometheus.js'
import { CANARY_OPTIONS, MemoryRouter, ROLLBACK_OPTIONS } from './memory-router.js'

const rollback = ROLLBACK_OPTIONS

describe('blue-green flow on an in-memory router', () => {
  it('a change that applied and then failed is reported from a fresh read: moved, switched', async () => {
    const router = new MemoryRouter({ blue: 100, green: 0 }, 'green')
    router.afterApply = () => {
      throw new Error('ssh connection lost after the command')
    }
    const r = await runBlueGreen(router, rollback)
    expect(r.error?.message).toMatch(/ssh connection lost/)
    expect(r.switched).toBe(true)
    expect(r.liveSlot).toBe('green')
    expect(r.trafficAfterFailure).toMatch(/^moved: blue 100% \/ green 0% -> blue 0% \/ green 100%/)
  })

  it('a rollback into a slot the router reports down changes nothing', async () => {
    const router = new MemoryRouter({ blue: 100, green: 0 }, 'green')
    router.health.green = { up: false, detail: 'green down (srv_op_state 0)' }
    const r = await runBlueGreen(router, rollback)
    expect(r.error?.message).toMatch(/slot green is down according to the router/)
    expect(router.changes).toEqual([])
    expect(r.trafficAfterFailure).toMatch(/^unchanged/)
  })

  it('plans from the read made under the lock: another run already rolled back -> nothing to do', async () => {
    const router = new MemoryRouter({ blue: 100, green: 0 }, 'green')
    router.whileWaiting = (me) => {
      me.weights = { blue: 0, green: 100 }
      me.previous = 'blue'
    }
    const r = await runBlueGreen(router, { ...rollback, target: 'green' })
    expect(r.outcome).toBe('noop')
    expect(router.changes).toEqual([])
  })
})

describe('dry runs on an in-memory router: the plan, and no lock, no change', () => {
  const untouchable = (weights: { blue: number; green: number }, previous?: 'blue' | 'green') => {
    const router = new MemoryRouter(weights, previous)
    router.whileWaiting = () => {
      throw new Error('a dry run took the lock')
    }
    return router
  }

  it('blue-green: the rollback that would be made, the slots as they are', async () => {
    const router = untouchable({ blue: 100, green: 0 }, 'green')
    const r = await previewBlueGreen(router, rollback)
    expect(r).toMatchObject({ outcome: 'dry-run', switched: false, rolledBack: false })
    expect(r.plan?.explanation).toBe('roll back from blue to green')
    expect([r.liveSlot, r.previousSlot]).toEqual(['blue', 'green'])
    expect(router.changes).toEqual([])
  })

  it('canary: a split router is resumed at the weight found; a single one starts at 0', async () => {
    const split = await previewCanary(untouchable({ blue: 75, green: 25 }, 'blue'), CANARY_OPTIONS)
    expect(split).toMatchObject({ result: 'dry-run', canary: 'green', finalWeight: 25 })
    const single = untouchable({ blue: 0, green: 100 })
    const r = await previewCanary(single, CANARY_OPTIONS, { alpha: 0.01, pollIntervalMs: 1000 })
    expect(r).toMatchObject({ result: 'dry-run', canary: 'blue', stable: 'green', finalWeight: 0 })
    expect(r.plannedMs).toBe(2 * CANARY_OPTIONS.stepDurationMs)
    expect(single.changes).toEqual([])
  })
})

describe('canary flow on an in-memory router', () => {
  const prometheus = {
    query: async () => ({ kind: 'value', value: 0 }),
    scrapeIntervalMs: async () => undefined
  } as unknown as PrometheusClient
  const options = CANARY_OPTIONS

  it('a run that waited while another promoted does not touch traffic', async () => {
    const router = new MemoryRouter({ blue: 50, green: 50 }, 'blue')
    router.whileWaiting = (me) => {
      me.weights = { blue: 0, green: 100 }
    }
    router.waitedFor = 'run 1'
    await expect(runCanary(router, prometheus, options)).rejects.toThrow(/held the router lock/)
    expect(router.changes).toEqual([])
  })

  it('prepares the slot chosen under the lock, not the one seen before it', async () => {
    const router = new MemoryRouter({ blue: 100, green: 0 })
    router.whileWaiting = (me) => {
      me.weights = { blue: 0, green: 100 }
      me.previous = 'blue'
    }
    const prepared: string[] = []
    const r = await runCanary(router, prometheus, {
      ...options,
      deploysItsOwnVersion: true,
      prepare: async (slot) => {
        prepared.push(slot)
      }
    })
    expect(prepared).toEqual(['blue'])
    expect(r.canary).toBe('blue')
    expect(router.weights).toEqual({ blue: 100, green: 0 })
  })
})
