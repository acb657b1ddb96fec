import { describe, expect, it } from '@jest/globals'
import { runBlueGreen } from '../../src/release/bluegreen.js'
import { runCanary } from '../../src/release/canary.js'
import { planManual } from '../../src/release/canary-plan.js'
import { planSwitch } from '../../src/release/plan.js'
import type { PrometheusClient } from '../../src/slo/prometheus.js'
import type { Slot } from '../../src/traffic/slots.js'
import { CANARY_OPTIONS, MemoryRouter, ROLLBACK_OPTIONS } from './memory-router.js'

// After a failed release is undone, its slot is idle and holds that release: the release that
// was there before it is gone. A rollback must not send users to it (found under act: the
// Rollback template after an aborted canary sent all traffic to the canary's 50 % errors).

const state = (blue: number, previous?: Slot) => ({
  weights: { blue, green: 100 - blue },
  previous,
  detail: ''
})

describe('planSwitch: rollback after an undone release', () => {
  it.each([
    // weights (blue %), recorded previous, target -> slot, or the refusal
    [100, 'green', undefined, 'green'],
    [100, undefined, undefined, 'green'],
    [
      100,
      'blue',
      undefined,
      /nothing to roll back to: blue is live and the idle slot green holds the release that was undone/
    ],
    [0, 'green', undefined, /nothing to roll back to: green is live and the idle slot blue/],
    [100, 'blue', 'green', 'green'],
    [100, 'blue', 'blue', 'blue']
  ] as const)('blue %s%%, previous %s, target %s -> %s', (blue, previous, target, expected) => {
    const plan = () => planSwitch('rollback', state(blue, previous), target)
    if (typeof expected === 'string') expect(plan().to).toBe(expected)
    else expect(plan).toThrow(expected)
  })

  it('a deploy after an undone release goes to the idle slot as always', () => {
    expect(planSwitch('deploy', state(100, 'blue')).to).toBe('green')
  })
})

describe('planManual (canary-promote): abort records that nothing is behind the slot it returns to', () => {
  it.each([
    // mid-canary: back to stable, stable recorded as previous (the canary slot failed)
    [{ blue: 80, green: 20 }, 'blue', true, { blue: 100, green: 0 }, 'blue'],
    // right after a promotion: the undo, then nothing behind blue
    [{ blue: 0, green: 100 }, 'blue', true, { blue: 100, green: 0 }, 'blue'],
    // after an abort: nothing to abort, nothing refused
    [{ blue: 100, green: 0 }, 'blue', false, { blue: 100, green: 0 }, 'blue']
  ] as const)(
    '%o previous %s -> changed %s to %o, previous %s',
    (weights, previous, changed, after, recorded) => {
      const plan = planManual('abort', { weights, previous })
      expect(plan).toMatchObject({ changed, after, previous: recorded })
    }
  )
})

describe('flows on an in-memory router: an undone release leaves nothing to roll back to', () => {
  const failing = {
    query: async () => {
      throw new Error('prometheus went away')
    },
    scrapeIntervalMs: async () => undefined
  } as unknown as PrometheusClient
  // no inconclusive analysis is tolerated: the failing Prometheus ends the canary at once
  const canary = { ...CANARY_OPTIONS, maxInconclusive: 0 }

  const rollback = ROLLBACK_OPTIONS

  it('a canary that ended back on stable, then mode: rollback: refused, traffic stays', async () => {
    const router = new MemoryRouter({ blue: 100, green: 0 }, 'green')
    await runCanary(router, failing, canary).catch(() => undefined)
    expect(router.weights).toEqual({ blue: 100, green: 0 })
    expect(router.previous).toBe('blue')
    const changes = router.changes.length
    await expect(runBlueGreen(router, rollback)).rejects.toThrow(
      /nothing to roll back to: blue is live/
    )
    expect(router.changes.length).toBe(changes)
    expect(router.weights).toEqual({ blue: 100, green: 0 })
    // the operator can still choose the idle slot, by name
    const forced = await runBlueGreen(router, { ...rollback, target: 'green' })
    expect(forced.error).toBeUndefined()
    expect(router.weights).toEqual({ blue: 0, green: 100 })
  })

  // Two rollbacks dispatched together (two people in an incident, a double click, a re-run)
  // run one after the other in rollback.yml's concurrency group: the second must not send users
  // back to the release the first rolled away from.
  it('a rollback, then another: the second is refused, traffic stays on the rolled-back-to slot', async () => {
    const router = new MemoryRouter({ blue: 0, green: 100 }, 'blue')
    const first = await runBlueGreen(router, rollback)
    expect(first.error).toBeUndefined()
    expect(router.weights).toEqual({ blue: 100, green: 0 })
    expect(first.previousSlot).toBe('green')
    const changes = router.changes.length
    await expect(runBlueGreen(router, rollback)).rejects.toThrow(
      /nothing to roll back to: blue is live and the idle slot green holds the release that was undone/
    )
    expect(router.changes.length).toBe(changes)
    expect(router.weights).toEqual({ blue: 100, green: 0 })
    // undoing the rollback is still possible, by naming the slot
    const forced = await runBlueGreen(router, { ...rollback, target: 'green' })
    expect(forced.error).toBeUndefined()
    expect(router.weights).toEqual({ blue: 0, green: 100 })
  })
})
