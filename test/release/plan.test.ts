import { describe, expect, test } from '@jest/globals'
import { ConfigurationError, GateError } from '../../src/core/errors.js'
import { chooseCanary } from '../../src/release/canary-plan.js'
import { planSwitch } from '../../src/release/plan.js'
import type { RouterState } from '../../src/traffic/router.js'
import { placement, type Slot, type Weights } from '../../src/traffic/slots.js'

const w = (blue: number, green: number): Weights => ({ blue, green })
const state = (weights: Weights, previous?: Slot): RouterState => ({
  weights,
  previous,
  detail: 'test'
})

describe('placement', () => {
  test.each([
    [w(100, 0), undefined, { kind: 'single', live: 'blue' }],
    [w(0, 100), 'blue', { kind: 'single', live: 'green' }],
    // HAProxy weights are 0..256: any positive weight alone is "all on it"
    [w(1, 0), undefined, { kind: 'single', live: 'blue' }],
    [w(0, 0), 'green', { kind: 'none' }],
    [w(95, 5), undefined, { kind: 'split', stable: 'blue', canary: 'green', canaryWeight: 5 }],
    [w(25, 75), undefined, { kind: 'split', stable: 'green', canary: 'blue', canaryWeight: 25 }],
    // the recorded previous slot is the stable one, even when it is the lighter one
    [w(25, 75), 'blue', { kind: 'split', stable: 'blue', canary: 'green', canaryWeight: 75 }],
    [w(50, 50), undefined, { kind: 'split', stable: 'blue', canary: 'green', canaryWeight: 50 }],
    // weights not summing to 100 (HAProxy 0..256) are shares
    [w(150, 50), undefined, { kind: 'split', stable: 'blue', canary: 'green', canaryWeight: 25 }]
  ] as [Weights, Slot | undefined, ReturnType<typeof placement>][])(
    '%j previous %p -> %j',
    (weights, previous, expected) => {
      expect(placement(weights, previous)).toEqual(expected)
    }
  )
})

describe('planSwitch', () => {
  test.each([
    // mode, weights, previous, target -> from, to, after, noop, recovering?
    ['deploy', w(100, 0), undefined, undefined, 'blue', 'green', w(0, 100), false, false],
    ['deploy', w(0, 100), 'blue', undefined, 'green', 'blue', w(100, 0), false, false],
    ['deploy', w(100, 0), undefined, 'blue', 'blue', 'blue', w(100, 0), true, false],
    ['deploy', w(100, 0), undefined, 'green', 'blue', 'green', w(0, 100), false, false],
    // rollback goes to the recorded previous slot, else the other one
    ['rollback', w(0, 100), 'blue', undefined, 'green', 'blue', w(100, 0), false, false],
    ['rollback', w(0, 100), undefined, undefined, 'green', 'blue', w(100, 0), false, false],
    // previous == live records an undone release: refused (test/release/rollback-after-failure.test.ts)
    ['rollback', w(100, 0), 'green', 'blue', 'blue', 'blue', w(100, 0), true, false],
    // an interrupted canary: rollback puts all back on the stable slot
    ['rollback', w(95, 5), undefined, undefined, 'blue', 'blue', w(100, 0), false, true],
    ['rollback', w(50, 50), 'green', undefined, 'green', 'green', w(0, 100), false, true],
    // deploy with a target completes the change
    ['deploy', w(95, 5), undefined, 'green', 'blue', 'green', w(0, 100), false, true],
    // nothing live: the recorded previous slot, or the target
    ['deploy', w(0, 0), 'green', undefined, undefined, 'green', w(0, 100), false, true],
    ['rollback', w(0, 0), undefined, 'blue', undefined, 'blue', w(100, 0), false, true]
  ] as const)(
    '%s from %j (previous %p, target %p)',
    (mode, weights, previous, target, from, to, after, noop, recovering) => {
      const plan = planSwitch(mode, state(weights, previous), target)
      expect(plan).toMatchObject({ mode, before: weights, from, to, after, noop })
      expect(plan.recovering !== undefined).toBe(recovering)
      expect(plan.explanation).toContain(to)
    }
  )

  test.each([
    [
      'deploy',
      w(95, 5),
      undefined,
      /target-slot.*mid-change \(blue 95% \/ green 5%\).*rollback to return to blue/
    ],
    ['deploy', w(0, 0), undefined, /target-slot.*no traffic to either slot/],
    ['rollback', w(0, 0), undefined, /target-slot/]
  ] as const)('%s from %j (previous %p) needs target-slot', (mode, weights, previous, message) => {
    const plan = (): unknown => planSwitch(mode, state(weights, previous))
    expect(plan).toThrow(ConfigurationError)
    expect(plan).toThrow(message)
  })
})

describe('chooseCanary', () => {
  const steps = [5, 25, 50, 100]
  test.each([
    [w(100, 0), undefined, { canary: 'green', stable: 'blue', startStep: 0 }],
    [w(0, 100), 'blue', { canary: 'blue', stable: 'green', startStep: 0 }],
    // resuming: from the first step at or above the weight found
    [w(95, 5), undefined, { canary: 'green', stable: 'blue', startStep: 0, resumed: 5 }],
    [w(80, 20), undefined, { canary: 'green', stable: 'blue', startStep: 1, resumed: 20 }],
    [w(75, 25), undefined, { canary: 'green', stable: 'blue', startStep: 1, resumed: 25 }],
    [w(50, 50), 'green', { canary: 'blue', stable: 'green', startStep: 2, resumed: 50 }],
    // the recorded stable slot wins over the heavier one
    [w(30, 70), 'blue', { canary: 'green', stable: 'blue', startStep: 3, resumed: 70 }]
  ] as [Weights, Slot | undefined, object][])(
    '%j previous %p -> %j',
    (weights, previous, expected) => {
      expect(chooseCanary({ weights, previous }, steps)).toEqual(expected)
    }
  )

  test('no slot live: a gate error, nothing chosen', () => {
    expect(() => chooseCanary({ weights: w(0, 0) }, steps)).toThrow(GateError)
  })
})
