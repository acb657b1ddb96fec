import { describe, expect, it, test } from '@jest/globals'
import {
  binomialCdf,
  describeBound,
  failuresThatFail,
  judgeRate,
  quantileUpperBound,
  samplesForQuantile
} from '../../src/slo/interval.js'
import { judgeAnalysis, judgeP95, type Reading, type SlotReadings } from '../../src/slo/judge.js'
import { bucketAround } from '../../src/slo/prometheus-meta.js'
import { emptySample, mergeSamples, type SampleResult } from '../../src/probe/sampler.js'
import { judgeVerification } from '../../src/release/verification.js'
import { maxAnalysesPerStep } from '../../src/release/canary.js'
import { verifyBreach, verifyLooks } from '../../src/release/bluegreen.js'

const v = (value: number): Reading => ({ kind: 'value', value })
const slot = (requests: Reading, errors: Reading, p95: Reading): SlotReadings => ({
  requests,
  errors,
  p95Seconds: p95
})
const T = {
  maxErrorRatePercent: 0.1,
  maxP95Ms: 500,
  minRequests: 50,
  maxErrorRateIncreasePoints: 0.5,
  maxP95IncreasePercent: 50,
  p95NoiseFloorMs: 50
}

describe('describeBound: every verdict states its bound', () => {
  test.each([
    [
      0,
      3120,
      1,
      '0 errors in 3,120 requests: error rate ≤ 0.096 % at 95 % (one-sided, Clopper-Pearson)'
    ],
    [
      0,
      140,
      1,
      'inconclusive: 0 errors in 140 requests shows only error rate ≤ 2.1 % at 95 % (one-sided, Clopper-Pearson); 2,995 requests with no error would show ≤ 0.1 %'
    ],
    [
      18,
      3000,
      1,
      '18 errors in 3,000 requests: error rate ≥ 0.39 % at 95 % (one-sided, Clopper-Pearson), above the 0.1 % bound'
    ],
    [
      3,
      3000,
      10,
      'inconclusive: 3 errors in 3,000 requests: error rate between 0.011 % and 0.37 % at 95 % (one-sided, Clopper-Pearson, 99.5 % per look over 10 looks), the 0.1 % bound is inside; 5,296 requests with no error would show ≤ 0.1 %'
    ],
    [0, 0, 1, 'inconclusive: no requests to judge']
  ])('%d of %d over %d looks', (f, n, looks, text) => {
    expect(describeBound(judgeRate(f, n, 0.1, 0.95, looks))).toBe(text)
  })
  it('fractional increase() counts are shown as estimates', () => {
    expect(describeBound(judgeRate(0, 3100.4, 0.1))).toMatch(/^0 errors in ≈3100\.4 requests/)
  })
})

describe('failuresThatFail: the count at which a look is already certain to fail', () => {
  test.each([
    [600, 0.1, 1, 3],
    [600, 0.1, 10, 4],
    [20, 0.1, 10, 2],
    [1, 0.1, 1, 1],
    [3000, 0.1, 1, 7], // P(Binomial(3000, 0.001) >= 7) = 0.034
    [0, 0.1, 1, undefined],
    [10, 100, 1, undefined] // a 100 % SLO cannot be exceeded
  ])('%d requests, SLO %s%%, %d looks -> %s', (n, slo, looks, f) => {
    expect(failuresThatFail(n, slo, 0.95, looks)).toBe(f)
  })
  it('is the boundary: one fewer does not fail, that many does', () => {
    for (const n of [50, 600, 3000, 12345]) {
      const f = failuresThatFail(n, 0.1, 0.95, 4)!
      expect(judgeRate(f, n, 0.1, 0.95, 4).verdict).toBe('fail')
      expect(judgeRate(f - 1, n, 0.1, 0.95, 4).verdict).not.toBe('fail')
    }
  })
  it('stopping early at that count on fewer requests gives the same verdict (lower bound only grows)', () => {
    const f = failuresThatFail(600, 0.1, 0.95, 10)!
    for (const n of [f, 100, 300, 599]) {
      expect(judgeRate(f, n, 0.1, 0.95, 10).verdict).toBe('fail')
    }
  })
})

describe('order statistics of a P95', () => {
  test.each([
    [58, 0.95, 0.95, undefined], // 1 - 0.95^58 < 0.95: no bound at all
    [59, 0.95, 0.95, 59],
    [100, 0.95, 0.95, 99],
    [1000, 0.95, 0.95, 962]
  ])('%d samples 1..n, q %s at %s -> %s', (n, q, c, bound) => {
    const sorted = Array.from({ length: n }, (_, i) => i + 1)
    expect(quantileUpperBound(sorted, q, c)).toBe(bound)
  })
  test.each([
    [0.95, 0.95, 59],
    [0.95, 0.995, 104],
    [0.99, 0.95, 299]
  ])('samplesForQuantile(%s, %s) = %d', (q, c, n) => {
    expect(samplesForQuantile(q, c)).toBe(n)
  })
  test.each([
    [0, 10, 0.5, 1 / 1024],
    [10, 10, 0.5, 1],
    [-1, 10, 0.5, 0],
    [4, 10, 0.5, 386 / 1024]
  ])('binomialCdf(%d, %d, %s)', (k, n, p, want) => {
    expect(binomialCdf(k, n, p)).toBeCloseTo(want, 9)
  })
  it('the bound covers the true P95 at least 95 % of the time (simulated)', () => {
    let seed = 7
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
    let covered = 0
    const runs = 400
    for (let r = 0; r < runs; r++) {
      // uniform(0, 1): the true P95 is 0.95
      const s = Array.from({ length: 200 }, random).sort((a, b) => a - b)
      if (quantileUpperBound(s, 0.95, 0.95)! >= 0.95) covered++
    }
    expect(covered / runs).toBeGreaterThanOrEqual(0.93)
  })
})

describe('bucketAround: the resolution of a histogram P95 at the bound', () => {
  test.each([
    [['0.1', '0.5', '1', '+Inf'], 0.5, 'boundary'],
    [['0.1', '0.25', '1', '+Inf'], 0.5, { low: 0.25, high: 1 }],
    [['1', '+Inf'], 0.5, { low: 0, high: 1 }],
    [['0.1', '+Inf'], 0.5, { low: 0.1, high: Infinity }],
    [[], 0.5, undefined],
    [['junk'], 0.5, undefined]
  ])('%j around %s', (les, bound, want) => {
    expect(bucketAround(les, bound)).toEqual(want)
  })
})

describe('judgeAnalysis under error-judgement interval (the default)', () => {
  test.each([
    ['clean with enough requests: pass', slot(v(7000), v(0), v(0.05)), 40, 'pass', false],
    [
      'clean with 600 requests: inconclusive, needs more',
      slot(v(600), v(0), v(0.05)),
      1,
      'inconclusive',
      true
    ],
    [
      'exactly at the SLO (3 of 3,000): never a pass',
      slot(v(3000), v(3), v(0.05)),
      1,
      'inconclusive',
      true
    ],
    ['0.5 % errors on 3,000: fail', slot(v(3000), v(15), v(0.05)), 1, 'fail', false],
    [
      '1 error in 600: not failed (a point estimate would)',
      slot(v(600), v(1), v(0.05)),
      1,
      'inconclusive',
      true
    ],
    [
      'below min-requests: inconclusive, not "needs more"',
      slot(v(20), v(0), v(0.05)),
      1,
      'inconclusive',
      false
    ],
    ['+Inf requests: no data', slot(v(Infinity), v(0), v(0.05)), 1, 'inconclusive', false],
    [
      'negative requests (counter reset in a custom query): no data',
      slot(v(-50), v(0), v(0.05)),
      1,
      'inconclusive',
      false
    ],
    ['negative errors: no data', slot(v(5000), v(-3), v(0.05)), 1, 'inconclusive', false],
    ['more errors than requests: no data', slot(v(100), v(150), v(0.05)), 1, 'inconclusive', false],
    ['NaN errors: no data', slot(v(5000), { kind: 'nan' }, v(0.05)), 1, 'inconclusive', false],
    ['P95 +Inf (in the +Inf bucket) fails', slot(v(7000), v(0), v(Infinity)), 1, 'fail', false],
    ['negative P95: no data', slot(v(7000), v(0), v(-1)), 1, 'inconclusive', false]
  ] as const)('%s', (_, canary, looks, verdict, needsMore) => {
    const r = judgeAnalysis(canary, undefined, [], { ...T, looks })
    expect(r.verdict).toBe(verdict)
    expect(r.needsMore).toBe(needsMore)
  })

  it('states the bound in the measurement', () => {
    const r = judgeAnalysis(slot(v(3120), v(0), v(0.05)), undefined, [], T)
    const e = r.measurements.find((m) => m.check === 'error rate')!
    expect(e.shown).toMatch(/0 errors in 3,120 requests: error rate ≤ 0\.096 % at 95 %/)
    expect(e.highPercent).toBeCloseTo(0.096, 3)
    expect(e.bound).toBe('upper bound <= 0.1%')
  })
})

describe('judgeP95: samples and bucket resolution', () => {
  test.each([
    ['too few samples for a P95', 0.05, 58, undefined, 'inconclusive', true],
    ['59 samples: judged', 0.05, 59, undefined, 'pass', undefined],
    [
      'in the bucket that holds the bound: inconclusive',
      0.4,
      1000,
      { low: 0.25, high: 1 },
      'inconclusive',
      undefined
    ],
    ['below that bucket: pass', 0.2, 1000, { low: 0.25, high: 1 }, 'pass', undefined],
    ['above that bucket: fail', 1.5, 1000, { low: 0.25, high: 1 }, 'fail', undefined],
    ['bound on a bucket boundary: exact', 0.49, 1000, 'boundary', 'pass', undefined],
    ['at the bound fails (must be below)', 0.5, 1000, 'boundary', 'fail', undefined]
  ] as const)('%s', (_, p95, n, bucket, verdict, needsMore) => {
    const m = judgeP95(p95, n, { ...T, p95Bucket: bucket }, 0.95, 1, true)
    expect(m.verdict).toBe(verdict)
    expect(m.needsMore).toBe(needsMore)
  })
  it('says which resolution the answer had', () => {
    expect(
      judgeP95(0.4, 1000, { ...T, p95Bucket: { low: 0.25, high: 1 } }, 0.95, 1, true).shown
    ).toMatch(/bucket \(250 ms, 1000 ms\] that holds the 500 ms bound/)
    expect(judgeP95(0.1, 1000, { ...T, p95Bucket: 'boundary' }, 0.95, 1, true).shown).toMatch(
      /the bound is a bucket boundary/
    )
    expect(judgeP95(0.1, 1000, T, 0.95, 1, true).shown).toMatch(/histogram buckets not known/)
  })
})

/** A sample of n requests, `failed` of them failed, `slow` of them at 800 ms (others 5 ms). */
function sample(n: number, failed: number, slow = 0): SampleResult {
  const latencies = Array.from({ length: n }, (_, i) => (i < slow ? 800 : 5)).sort((a, b) => a - b)
  const r = emptySample()
  return mergeSamples(r, {
    ...r,
    total: n,
    failed,
    errorRatePercent: n ? (failed / n) * 100 : 0,
    p95Ms: latencies[Math.max(0, Math.ceil(0.95 * n) - 1)] ?? NaN,
    outcomes: { '200': n - failed, ...(failed ? { '503': failed } : {}) },
    latenciesMs: latencies
  })
}

describe('judgeVerification (deploy-bluegreen after the switch)', () => {
  const rule = {
    maxErrorRatePercent: 0.1,
    maxP95Ms: 500,
    judgement: 'interval' as const,
    confidence: 0.95
  }
  test.each([
    ['clean, 3,000 requests, one look: verified', sample(3000, 0), 1, 'pass'],
    ['clean, 600 requests (the old default): inconclusive', sample(600, 0), 1, 'inconclusive'],
    ['clean, 3,000 requests over 10 looks: inconclusive', sample(3000, 0), 10, 'inconclusive'],
    ['clean, 5,296 over 10 looks: verified', sample(5296, 0), 10, 'pass'],
    ['0.5 % errors on 3,000: fail', sample(3000, 15), 1, 'fail'],
    ['exactly at the SLO: never verified', sample(3000, 3), 1, 'inconclusive'],
    ['nothing judged: inconclusive', sample(0, 0), 1, 'inconclusive'],
    ['10 % slow of 3,000: fail on the P95', sample(3000, 0, 300), 1, 'fail'],
    ['5 % slow exactly: P95 not shown below', sample(3000, 0, 150), 1, 'inconclusive'],
    ['40 clean requests: no P95 bound', sample(40, 0), 1, 'inconclusive']
  ])('%s', (_, r, looks, verdict) => {
    expect(judgeVerification(r, rule, looks).verdict).toBe(verdict)
  })
  it('point: the old rule, said to be weaker', () => {
    const j = judgeVerification(sample(600, 0), { ...rule, judgement: 'point' })
    expect(j.verdict).toBe('pass')
    expect(j.errors.shown).toMatch(/point estimate: no bound stated/)
    expect(judgeVerification(sample(600, 1), { ...rule, judgement: 'point' }).verdict).toBe('fail')
  })
  it('reports the P95 upper bound and the reason', () => {
    const j = judgeVerification(sample(3000, 0, 60), rule)
    expect(j.p95.upperBoundMs).toBe(5)
    expect(j.p95.shown).toMatch(/true P95 ≤ 5 ms \(order statistic\)/)
    const bad = judgeVerification(sample(3000, 15), rule)
    expect(bad.why).toMatch(/15 errors in 3,000 requests: error rate ≥ 0\.\d+ % at 95 %/)
  })
  it('verifyBreach names the failed requests and passes only a pass', () => {
    const v = {
      url: 'http://127.0.0.1:1/',
      durationMs: 1000,
      ratePerSecond: 20,
      maxErrorRatePercent: 0.1,
      maxP95Ms: 500,
      timeoutMs: 1000,
      maxDurationMs: 1000
    }
    expect(verifyBreach(sample(3000, 0), v)).toBeUndefined()
    expect(verifyBreach(sample(600, 0), v)).toMatch(/^inconclusive: 0 errors in 600 requests/)
    expect(verifyBreach(sample(3000, 15), v)).toMatch(/\(failed requests: HTTP 503 x15\)$/)
  })
})

describe('looks', () => {
  test.each([
    [{ stepDurationMs: 60_000, intervalMs: 30_000 }, 10],
    [{ stepDurationMs: 60_000, intervalMs: 30_000, maxStepDurationMs: 60_000 }, 2],
    [{ stepDurationMs: 3000, intervalMs: 3000, maxStepDurationMs: 1000 }, 1]
  ])('maxAnalysesPerStep(%j) = %d', (o, n) => {
    expect(maxAnalysesPerStep(o)).toBe(n)
  })
  const base = { url: '', ratePerSecond: 20, maxErrorRatePercent: 0.1, maxP95Ms: 500, timeoutMs: 1 }
  test.each([
    [{ ...base, durationMs: 30_000 }, 10],
    [{ ...base, durationMs: 30_000, maxDurationMs: 95_000 }, 3],
    [{ ...base, durationMs: 30_000, judgement: 'point' as const }, 1]
  ])('verifyLooks -> %d', (o, n) => {
    expect(verifyLooks(o)).toBe(n)
  })
  it('mergeSamples adds counts and re-sorts latencies', () => {
    const m = mergeSamples(sample(10, 1, 2), sample(5, 0))
    expect(m).toMatchObject({ total: 15, failed: 1, outcomes: { '200': 14, '503': 1 } })
    expect(m.latenciesMs).toEqual([...Array(13).fill(5), 800, 800])
  })
})
