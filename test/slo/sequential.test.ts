import { describe, expect, it, test } from '@jest/globals'
import { prng, simulateSequential, type Traffic } from '../../lab/canary-sim.js'
import {
  ERROR_RATIOS,
  rateBounds,
  rateEValue,
  SequentialAnalysis,
  SLOW_RATIOS,
  THETAS,
  type Batch
} from '../../src/slo/sequential.js'

const options = { alpha: 0.01, maxErrorRate: 0.001, maxSlowFraction: 0.05, compareWithStable: true }
const batch = (b: Partial<Batch>): Batch => ({
  canaryRequests: 0,
  canaryErrors: 0,
  stableRequests: 0,
  stableErrors: 0,
  canaryLatencyCount: 0,
  canarySlow: 0,
  ...b
})
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
const check = (a: SequentialAnalysis, name: string): number =>
  a.state().checks.find((c) => c.check === name)!.eValue

describe('e-values with known values', () => {
  test.each([
    // no data: no evidence either way
    [0, 0, 0.001, ERROR_RATIOS, 1],
    // one error in one request: the mean of the rate ratios (all alternatives below 1)
    [1, 1, 0.001, ERROR_RATIOS, mean(ERROR_RATIOS)],
    // two slow requests of two at p0 = 5 %: mean of r^2 over the latency grid
    [2, 2, 0.05, SLOW_RATIOS, mean(SLOW_RATIOS.map((r) => r * r))],
    // one slow of one at p0 = 5 %: ratios 19 * 0.05 < 1 all count
    [1, 1, 0.05, SLOW_RATIOS, mean(SLOW_RATIOS)]
  ])('rate e-value: %i events in %i trials, p0 %f', (events, trials, p0, ratios, expected) => {
    expect(rateEValue(events, trials, p0, ratios)).toBeCloseTo(expected, 10)
  })

  it('drops alternatives at or above rate 1 and keeps their weight (a smaller, valid e-value)', () => {
    // p0 = 0.3: only ratios 2 and... 2*0.3 = 0.6 < 1, 4*0.3 >= 1
    expect(rateEValue(1, 1, 0.3, [2, 4])).toBeCloseTo(2 / 2, 10)
  })

  it('errors vs stable: one canary error at share 1/2 is the mean of 2θ/(1+θ)', () => {
    const a = new SequentialAnalysis(options)
    a.update(batch({ canaryRequests: 100, stableRequests: 100, canaryErrors: 1 }))
    expect(check(a, 'errors vs stable')).toBeCloseTo(mean(THETAS.map((t) => (2 * t) / (1 + t))), 10)
  })

  it('errors vs stable multiplies per-batch likelihood ratios when the share changes', () => {
    const a = new SequentialAnalysis(options)
    a.update(batch({ canaryRequests: 50, stableRequests: 950, canaryErrors: 1, stableErrors: 2 }))
    a.update(batch({ canaryRequests: 500, stableRequests: 500, canaryErrors: 3, stableErrors: 1 }))
    const lr = (t: number, s: number, x: number, y: number): number => {
      const p = (t * s) / (t * s + 1 - s)
      return (p / s) ** x * ((1 - p) / (1 - s)) ** y
    }
    const expected = mean(THETAS.map((t) => lr(t, 0.05, 1, 2) * lr(t, 0.5, 3, 1)))
    expect(check(a, 'errors vs stable')).toBeCloseTo(expected, 10)
  })

  it('batches at the same share give the same evidence however the polls cut them', () => {
    const one = new SequentialAnalysis(options)
    one.update(
      batch({ canaryRequests: 200, stableRequests: 800, canaryErrors: 4, stableErrors: 2 })
    )
    const two = new SequentialAnalysis(options)
    two.update(
      batch({ canaryRequests: 100, stableRequests: 400, canaryErrors: 1, stableErrors: 2 })
    )
    two.update(batch({ canaryRequests: 100, stableRequests: 400, canaryErrors: 3 }))
    expect(two.state().eValue).toBeCloseTo(one.state().eValue, 8)
  })

  it('a batch with requests on one slot only is no evidence about their comparison', () => {
    const a = new SequentialAnalysis(options)
    a.update(batch({ canaryRequests: 100, canaryErrors: 5 }))
    expect(check(a, 'errors vs stable')).toBe(1)
  })

  test.each([
    ['canaryErrors', -1],
    ['canaryRequests', Number.NaN],
    ['stableRequests', Infinity]
  ])('refuses a batch with %s = %p', (field, value) => {
    const a = new SequentialAnalysis(options)
    expect(() => a.update(batch({ [field]: value }))).toThrow(/expected a count/)
  })

  test.each([
    [{ alpha: 0 }, /alpha/],
    [{ alpha: 0.7 }, /alpha/],
    [{ maxErrorRate: 0 }, /error rate/],
    [{ maxSlowFraction: 1 }, /slow fraction/]
  ])('refuses options %p', (bad, message) => {
    expect(() => new SequentialAnalysis({ ...options, ...bad })).toThrow(message)
  })
})

describe('anytime-valid bounds', () => {
  test.each([
    [0, 1000],
    [3, 1000],
    [50, 1000],
    [1, 10]
  ])('%i of %i: low <= observed <= high', (events, trials) => {
    const b = rateBounds(events, trials, 0.01)
    expect(b.low).toBeLessThanOrEqual(events / trials)
    expect(b.high).toBeGreaterThanOrEqual(events / trials)
  })

  it('no errors: the lower bound is 0; more data narrows the upper bound', () => {
    expect(rateBounds(0, 100, 0.01).low).toBe(0)
    expect(rateBounds(0, 10_000, 0.01).high).toBeLessThan(rateBounds(0, 100, 0.01).high)
  })

  it('the lower bound is above the SLO exactly when the SLO test rejects', () => {
    for (const [events, trials] of [
      [2, 40],
      [3, 40],
      [5, 300],
      [1, 1],
      [10, 10_000]
    ]) {
      const rejects = rateEValue(events, trials, 0.001) >= 100
      expect([events, trials, rateBounds(events, trials, 0.01).low > 0.001]).toEqual([
        events,
        trials,
        rejects
      ])
    }
  })

  it('says within bounds only once enough clean traffic puts the upper bounds below the SLOs', () => {
    const a = new SequentialAnalysis(options)
    a.update(batch({ canaryRequests: 100, stableRequests: 100, canaryLatencyCount: 100 }))
    expect(a.state().withinBounds).toBe(false)
    a.update(batch({ canaryRequests: 20_000, stableRequests: 20_000, canaryLatencyCount: 20_000 }))
    expect(a.state().withinBounds).toBe(true)
  })
})

describe('simulated canaries polled every second (the lab scrape interval)', () => {
  const plan = { steps: [5, 25, 50, 100], stepSeconds: 10, pollSeconds: 1 }
  const base: Traffic = {
    ratePerSecond: 200,
    stableErrorRate: 0,
    canaryErrorRate: 0,
    canarySlow: 0
  }

  it('10,000 canaries exactly at the SLOs (0.1 % errors, 5 % slow, same as stable) abort at most alpha of the time', () => {
    const rand = prng(15)
    const boundary = {
      ...base,
      stableErrorRate: 0.001,
      canaryErrorRate: 0.001,
      canarySlow: 0.05
    }
    let aborted = 0
    for (let i = 0; i < 10_000; i++) {
      if (simulateSequential(rand, boundary, plan, options).rejectedAt) aborted++
    }
    expect(aborted / 10_000).toBeLessThanOrEqual(options.alpha)
  })

  it('a 5 % error canary at 5 % weight is always aborted, 8 times in 10 in its first step, by the error checks', () => {
    const rand = prng(5)
    const runs = Array.from({ length: 300 }, () =>
      simulateSequential(rand, { ...base, canaryErrorRate: 0.05 }, plan, options)
    )
    expect(runs.every((r) => r.rejectedAt !== undefined)).toBe(true)
    const inFirst = runs.filter((r) => r.rejectedAt! <= plan.stepSeconds).length
    expect(inFirst / runs.length).toBeGreaterThanOrEqual(0.8)
    expect(new Set(runs.map((r) => r.culprit))).not.toContain('p95 latency')
  })

  it('a canary with every request above the latency bound is aborted within 3 polls, by the latency check', () => {
    const rand = prng(95)
    const runs = Array.from({ length: 100 }, () =>
      simulateSequential(rand, { ...base, canarySlow: 1 }, plan, options)
    )
    expect(runs.every((r) => (r.rejectedAt ?? Infinity) <= 3)).toBe(true)
    expect(new Set(runs.map((r) => r.culprit))).toEqual(new Set(['p95 latency']))
  })
})
