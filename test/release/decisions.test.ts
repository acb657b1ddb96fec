import { describe, expect, it, test } from '@jest/globals'
import {
  afterVerification,
  describeFailures,
  describeTrafficNow
} from '../../src/release/bluegreen.js'
import { planCanaryAfterLock, planManual } from '../../src/release/canary-plan.js'
import { rolloutStatus } from '../../src/kube/rollout.js'
import type { KubeObject } from '../../src/kube/client.js'
import type { Weights } from '../../src/traffic/slots.js'

const w = (blue: number, green: number): Weights => ({ blue, green })
const steps = [5, 25, 50, 100]

describe('planCanaryAfterLock: a run acts only on what it finds once it holds the lock', () => {
  test.each([
    ['nothing moved: a fresh canary of the idle slot', w(100, 0), w(100, 0), false, 'green', 0],
    [
      'nothing moved, split found: resume the interrupted canary',
      w(50, 50),
      w(50, 50),
      false,
      'green',
      2
    ],
    [
      'moved, this run deploys its own version: canary the new idle slot',
      w(50, 50),
      w(0, 100),
      true,
      'blue',
      0
    ]
  ])('%s', (_, seen, now, deploys, canary, startStep) => {
    const plan = planCanaryAfterLock(
      { weights: seen, previous: 'blue' },
      { weights: now, previous: 'blue' },
      steps,
      deploys
    )
    expect(plan).toMatchObject({ canary, startStep })
  })

  test.each([
    [
      'another run promoted meanwhile, this run deployed nothing',
      w(50, 50),
      w(0, 100),
      false,
      /not a version this run deployed/
    ],
    [
      'another run is still mid-canary',
      w(95, 5),
      w(50, 50),
      true,
      /its canary is still in progress/
    ],
    [
      'another run aborted meanwhile, this run deployed nothing',
      w(50, 50),
      w(100, 0),
      false,
      /changed nothing/
    ]
  ])('refuses when %s', (_, seen, now, deploys, message) => {
    expect(() =>
      planCanaryAfterLock(
        { weights: seen, previous: 'blue' },
        { weights: now, previous: 'blue' },
        steps,
        deploys
      )
    ).toThrow(message)
  })
})

it('refuses after waiting for another run even when the weights look unchanged, unless it deploys', () => {
  const at = { weights: w(0, 100), previous: 'blue' as const }
  expect(() => planCanaryAfterLock(at, at, steps, false, 'run 7')).toThrow(
    /another run \(run 7\) held the router lock/
  )
  expect(planCanaryAfterLock(at, at, steps, true, 'run 7')).toMatchObject({ canary: 'blue' })
})

describe('planManual', () => {
  test.each([
    ['abort', w(50, 50), 'blue', w(100, 0), true],
    ['abort', w(25, 75), 'blue', w(100, 0), true],
    ['abort', w(0, 100), 'blue', w(100, 0), true],
    ['abort', w(100, 0), undefined, w(0, 100), true],
    ['promote', w(50, 50), 'blue', w(0, 100), true],
    ['promote', w(100, 0), undefined, w(100, 0), false],
    ['status', w(50, 50), 'blue', w(50, 50), false]
  ] as const)('%s from %j (previous %s) -> %j', (mode, weights, previous, after, changed) => {
    const plan = planManual(mode, { weights, previous })
    expect(plan.after).toEqual(after)
    expect(plan.changed).toBe(changed)
  })
})

describe('afterVerification: a rollback is never reversed', () => {
  test.each([
    ['deploy', true, 'error rate 5%', 'roll back'],
    ['deploy', false, 'error rate 5%', 'leave'],
    ['rollback', true, 'error rate 5%', 'leave'],
    ['rollback', false, 'error rate 5%', 'leave'],
    ['deploy', true, undefined, 'done'],
    ['rollback', true, undefined, 'done']
  ] as const)('%s, auto-rollback %s, breach %s -> %s', (mode, auto, breach, next) => {
    expect(afterVerification(mode, auto, breach)).toBe(next)
  })
})

describe('describeTrafficNow: what a failure report says comes from the router', () => {
  test.each([
    [w(100, 0), w(0, 100), false, /^moved: blue 100% \/ green 0% -> blue 0% \/ green 100%/],
    [w(100, 0), w(100, 0), false, /^unchanged/],
    [w(100, 0), w(100, 0), true, /^rolled back to blue 100%/],
    [undefined, w(0, 100), false, /read after the failure/]
  ])('%j -> %j', (before, now, rolledBack, text) => {
    expect(describeTrafficNow(before, now, rolledBack)).toMatch(text)
  })
})

describe('describeFailures: why verification failed, capped', () => {
  test.each([
    [{ '200': 90, '503': 8, ECONNREFUSED: 2 }, 'HTTP 503 x8, ECONNREFUSED x2'],
    [{ '200': 10 }, ''],
    [
      { '500': 6, '501': 5, '502': 4, '503': 3, '504': 2, ECONNRESET: 1 },
      'HTTP 500 x6, HTTP 501 x5, HTTP 502 x4, HTTP 503 x3, HTTP 504 x2, 1 more kinds'
    ]
  ])('%j', (outcomes, text) => {
    expect(describeFailures(outcomes)).toBe(text)
  })
})

describe('rolloutStatus: observedGeneration before ProgressDeadlineExceeded, as kubectl', () => {
  const deployment = (generation: number, observed: number, deadline: boolean): KubeObject =>
    ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'shop-green', generation },
      spec: { replicas: 1 },
      status: {
        observedGeneration: observed,
        replicas: 1,
        updatedReplicas: 1,
        availableReplicas: 1,
        conditions: deadline
          ? [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }]
          : []
      }
    }) as unknown as KubeObject
  it('a new spec over a timed-out rollout waits for the controller instead of failing', () => {
    expect(rolloutStatus(deployment(3, 2, true))).toMatchObject({ done: false, failed: false })
  })
  it('a timed-out rollout of the current spec fails', () => {
    expect(rolloutStatus(deployment(3, 3, true))).toMatchObject({ done: false, failed: true })
  })
})
