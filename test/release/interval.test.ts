import { describe, expect, test } from '@jest/globals'
import { judgeRate, normalQuantile } from '../../src/slo/interval.js'

describe('normalQuantile', () => {
  test.each([
    [0.95, 1.6449],
    [0.975, 1.96],
    [0.5, 0],
    [0.01, -2.3263],
    [0.999, 3.0902]
  ])('q(%s) = %s', (p, z) => {
    expect(normalQuantile(p)).toBeCloseTo(z, 3)
  })
})

describe('judgeRate: fail only when shown above, pass only when shown below', () => {
  test.each([
    // failures, total, SLO %, verdict
    [0, 600, 0.1, 'inconclusive'], // 600 clean requests cannot show <= 0.1 %
    [0, 3000, 0.1, 'pass'],
    [1, 600, 0.1, 'inconclusive'], // a point estimate (0.17 %) would fail this
    [3, 3000, 0.1, 'inconclusive'], // exactly at the SLO: never a pass, not shown bad either
    [30, 600, 0.1, 'fail'],
    [4, 20, 0.1, 'fail'],
    [0, 0, 0.1, 'inconclusive'],
    [0, 20, 20, 'pass'],
    [0, 100, 0, 'inconclusive']
  ])('%d of %d at SLO %s%% -> %s', (failures, total, slo, verdict) => {
    expect(judgeRate(failures, total, slo).verdict).toBe(verdict)
  })

  test('about 3,000 clean requests are needed to show 0.1 % at 95 %', () => {
    const j = judgeRate(0, 1, 0.1)
    expect(j.neededAtZero).toBeGreaterThan(2900)
    expect(j.neededAtZero).toBeLessThan(3100)
    expect(judgeRate(0, j.neededAtZero, 0.1).verdict).toBe('pass')
    expect(judgeRate(0, j.neededAtZero - 5, 0.1).verdict).toBe('inconclusive')
  })

  test('more looks need stronger evidence (Bonferroni)', () => {
    expect(judgeRate(0, 3000, 0.1, 0.95, 1).verdict).toBe('pass')
    expect(judgeRate(0, 3000, 0.1, 0.95, 4).verdict).toBe('inconclusive')
    expect(judgeRate(0, 3000, 0.1, 0.95, 4).confidence).toBeCloseTo(0.9875, 6)
  })

  // Simulated services: the false-fail rate of a good one stays within alpha.
  test('a service exactly at the SLO is failed at most alpha of the time', () => {
    // mulberry32: a small, well-mixed generator, seeded so the test is repeatable.
    let seed = 42
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
    let fails = 0
    const runs = 400
    for (let r = 0; r < runs; r++) {
      let k = 0
      for (let i = 0; i < 3000; i++) if (random() < 0.001) k++
      if (judgeRate(k, 3000, 0.1).verdict === 'fail') fails++
    }
    expect(fails / runs).toBeLessThanOrEqual(0.05)
  })
})
