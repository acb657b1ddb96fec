import { describe, expect, it } from '@jest/globals'
import {
  countsShown,
  AnalysisTally,
  judgeAnalysis,
  type Reading,
  type SlotReadings
} from '../../src/slo/judge.js'
import { wilsonInterval } from '../../src/slo/stats.js'
import { parseExtraChecks, renderQuery } from '../../src/slo/queries.js'
import { parseSteps } from '../../src/actions/canary-promote/inputs.js'
import { reduce } from '../../src/slo/prometheus.js'

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
  p95NoiseFloorMs: 50,
  // these tables are about the point rule (the interval rule: test/slo/interval-judgement.test.ts)
  errorJudgement: 'point' as const
}

describe('countsShown', () => {
  it.each([
    [10, 200, '(10/200)'],
    [1.4, 37.8, '(≈1.4/37.8, Prometheus increase() estimates)'],
    [0, 36.6, '(≈0.0/36.6, Prometheus increase() estimates)']
  ])('%d of %d -> %s', (errors, requests, shown) => {
    expect(countsShown(errors, requests)).toBe(shown)
  })
})

describe('judgeAnalysis: fixed bounds', () => {
  it.each([
    ['healthy', slot(v(1000), v(0), v(0.05)), 'pass'],
    ['error rate exactly at 0.1% passes', slot(v(1000), v(1), v(0.05)), 'pass'],
    ['error rate just above fails', slot(v(1000), v(2), v(0.05)), 'fail'],
    ['5% errors fail', slot(v(200), v(10), v(0.05)), 'fail'],
    ['p95 at 500 ms fails (must be below)', slot(v(1000), v(0), v(0.5)), 'fail'],
    ['p95 499 ms passes', slot(v(1000), v(0), v(0.499)), 'pass'],
    ['49 requests: inconclusive, never pass', slot(v(49), v(0), v(0.05)), 'inconclusive'],
    ['0 requests: inconclusive', slot(v(0), v(0), { kind: 'nan' }), 'inconclusive'],
    [
      'empty result: inconclusive',
      slot({ kind: 'empty' }, { kind: 'empty' }, { kind: 'empty' }),
      'inconclusive'
    ],
    ['NaN p95: inconclusive', slot(v(1000), v(0), { kind: 'nan' }), 'inconclusive'],
    [
      'Prometheus error: inconclusive',
      slot({ kind: 'error', message: 'unreachable' }, v(0), v(0.05)),
      'inconclusive'
    ],
    ['a failure beats no data', slot(v(1000), v(50), { kind: 'nan' }), 'fail']
  ] as const)('%s', (_, canary, verdict) => {
    expect(judgeAnalysis(canary, undefined, [], T).verdict).toBe(verdict)
  })

  it('records the measured value and bound of every check', () => {
    const { measurements } = judgeAnalysis(slot(v(200), v(10), v(0.812)), undefined, [], T)
    expect(measurements.map((m) => [m.check, m.shown, m.bound, m.verdict])).toEqual([
      ['requests', '200 requests', '>= 50', 'pass'],
      [
        'error rate',
        '5.000% (10/200); point estimate, no bound stated (error-judgement point)',
        '<= 0.1%',
        'fail'
      ],
      ['p95 latency', '812 ms', '< 500 ms', 'fail']
    ])
  })

  it('says "no data" and why, rather than a number', () => {
    const { measurements } = judgeAnalysis(
      slot({ kind: 'error', message: 'Prometheus at http://x unreachable: ECONNREFUSED' }, v(0), {
        kind: 'nan'
      }),
      undefined,
      [],
      T
    )
    expect(measurements[0].shown).toBe('no data: Prometheus at http://x unreachable: ECONNREFUSED')
    expect(measurements[2].shown).toBe('no data: the query returned NaN')
  })
})

describe('judgeAnalysis: against the stable slot', () => {
  const loose = { ...T, maxErrorRatePercent: 5 }
  it('one error in 60 requests is not "worse than stable" with confidence (low traffic)', () => {
    const r = judgeAnalysis(slot(v(60), v(1), v(0.05)), slot(v(1000), v(0), v(0.05)), [], loose)
    expect(r.measurements.find((m) => m.check === 'error rate vs stable')?.verdict).toBe('pass')
  })
  it('a clearly worse canary fails even when under the fixed bound', () => {
    const r = judgeAnalysis(
      slot(v(2000), v(60), v(0.05)),
      slot(v(20000), v(20), v(0.05)),
      [],
      loose
    )
    expect(r.measurements.find((m) => m.check === 'error rate vs stable')?.verdict).toBe('fail')
    expect(r.verdict).toBe('fail')
  })
  it('p95 more than 50% above stable fails', () => {
    const r = judgeAnalysis(slot(v(1000), v(0), v(0.31)), slot(v(1000), v(0), v(0.2)), [], T)
    expect(r.measurements.find((m) => m.check === 'p95 vs stable')).toMatchObject({
      verdict: 'fail',
      shown: 'canary 310 ms vs stable 200 ms'
    })
  })
  it('a few ms of P95 difference is noise, not a regression (5 ms vs 9 ms)', () => {
    const r = judgeAnalysis(slot(v(1000), v(0), v(0.009)), slot(v(1000), v(0), v(0.005)), [], T)
    expect(r.measurements.find((m) => m.check === 'p95 vs stable')).toMatchObject({
      verdict: 'pass',
      bound: '<= 55 ms'
    })
  })
  it('is skipped, not failed, when the stable slot has too little traffic', () => {
    const r = judgeAnalysis(slot(v(1000), v(0), v(0.05)), slot(v(3), v(0), v(0.05)), [], T)
    expect(r.verdict).toBe('pass')
    expect(r.measurements.find((m) => m.check === 'error rate vs stable')?.note).toBe('not judged')
  })
})

describe('AnalysisTally: what failure-limit and max-inconclusive mean', () => {
  it('failure-limit 0: the first failure aborts', () => {
    expect(new AnalysisTally(0, 2).record('fail')).toMatch(/1 failed analysis/)
  })
  it('failure-limit 2: failures 1 and 2 are tolerated, the third aborts (not off by one)', () => {
    const t = new AnalysisTally(2, 2)
    expect(t.record('fail')).toBeUndefined()
    expect(t.record('pass')).toBeUndefined()
    expect(t.record('fail')).toBeUndefined()
    expect(t.record('fail')).toMatch(/3 failed analyses \(failure-limit 2 tolerates 2\)/)
  })
  it('max-inconclusive 2: two in a row abort; a pass in between resets the streak', () => {
    const t = new AnalysisTally(0, 2)
    expect(t.record('inconclusive')).toBeUndefined()
    expect(t.record('pass')).toBeUndefined()
    expect(t.record('inconclusive')).toBeUndefined()
    expect(t.record('inconclusive')).toMatch(/2 inconclusive analyses in a row/)
  })
})

describe('queries and inputs', () => {
  it('renders placeholders and rejects unknown ones', () => {
    expect(
      renderQuery('q', 'sum(x{ {{selector}} }[{{interval}}])', {
        selector: 'slot="green"',
        interval: '30s'
      })
    ).toBe('sum(x{ slot="green" }[30s])')
    expect(() => renderQuery('latency-query', '{{slot}}', { selector: '', interval: '' })).toThrow(
      /input `latency-query` uses \{\{slot\}\}/
    )
  })
  it('parses extra checks', () => {
    expect(
      parseExtraChecks('# comment\ncpu: max(rate(c{ {{selector}} }[1m])) < 0.8\nmem:m>=1e-3')
    ).toEqual([
      { name: 'cpu', query: 'max(rate(c{ {{selector}} }[1m]))', op: '<', bound: 0.8 },
      { name: 'mem', query: 'm', op: '>=', bound: 0.001 }
    ])
    expect(() => parseExtraChecks('cpu: up')).toThrow(/input `extra-checks` line `cpu: up`/)
  })
  it.each([
    ['5,25,50,100', [5, 25, 50, 100]],
    ['10%, 100%', [10, 100]],
    ['100', [100]]
  ])('steps %s', (raw, steps) => {
    expect(parseSteps(raw)).toEqual(steps)
  })
  it.each(['5,25,200', '25,5,100', '5,25,50', '0,100', '', '5,5,100', '2.5,100'])(
    'steps %j rejected',
    (raw) => {
      expect(() => parseSteps(raw)).toThrow(/input `steps` = .*ascending, ending at 100/)
    }
  )
  it('reduces Prometheus results, keeping "no data" apart', () => {
    expect(reduce('vector', [])).toEqual({ kind: 'empty' })
    expect(reduce('vector', [{ value: [0, 'NaN'] }])).toEqual({ kind: 'nan' })
    expect(reduce('scalar', [0, '0.5'])).toEqual({ kind: 'value', value: 0.5 })
    // Prometheus' spelling of infinity (histogram_quantile in the +Inf bucket) is a value
    expect(reduce('vector', [{ value: [0, '+Inf'] }])).toEqual({ kind: 'value', value: Infinity })
    expect(reduce('scalar', [0, '-Inf'])).toEqual({ kind: 'value', value: -Infinity })
    expect(() => reduce('vector', [{ value: [0, '1'] }, { value: [0, '2'] }])).toThrow(/2 series/)
  })
  it('Wilson interval is wide at low traffic and tight at high traffic', () => {
    expect(wilsonInterval(1, 20).low).toBeLessThan(0.02)
    expect(wilsonInterval(1, 20).high).toBeGreaterThan(0.15)
    expect(wilsonInterval(100, 10000).low).toBeGreaterThan(0.008)
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 })
  })
})
