/**
 * canary-promote under error-judgement interval (the default), through the bundle on real
 * HAProxy weights, real Prometheus and real load: what a pass shows, and that too little data
 * is never a promotion.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { Lab } from '../../lab/lab.js'
import { startLoad, type Load } from '../../lab/load.js'
import { runAction } from '../../lab/runner.js'
import type { AppSlot } from '../../lab/services/app.js'
import type { HaproxyInstance } from '../../lab/services/haproxy.js'
import type { PrometheusInstance } from '../../lab/services/prometheus.js'
import { startServiceStack } from '../../lab/stacks.js'

const errorOf = (r: { annotations: { level: string; message: string }[] }): string =>
  r.annotations
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
    .join('\n')

interface Decision {
  weight: number
  verdict: string
  measurements: { check: string; shown: string; verdict: string }[]
}

describe('canary-promote, error-judgement interval, real Prometheus + HAProxy + load', () => {
  const lab = Lab.create()
  let app: Record<'blue' | 'green', AppSlot>
  let lb: HaproxyInstance
  let prometheus: PrometheusInstance
  let load: Load | undefined

  const inputs = (extra: Record<string, string>): Record<string, string> => ({
    router: 'haproxy',
    'haproxy-socket': lb.socket,
    'prometheus-url': prometheus.url,
    steps: '50,100',
    'min-requests': '10',
    ...extra
  })

  beforeAll(async () => {
    ;({ app, lb, prometheus } = await startServiceStack(lab))
  })
  afterAll(() => lab.stop())
  beforeEach(async () => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
    await app.green.control({ errorRate: 0, latencyMs: 0 })
  })
  afterEach(async () => {
    await load?.stop()
    load = undefined
  })

  it('a clean canary with too few requests is inconclusive until max-step-duration, then rolled back, never promoted', async () => {
    // ~20 canary requests/s for at most 6 s: far below the ~4,800 that could show 0.1 %
    load = startLoad(lb.url, { ratePerSecond: 40, maxDurationMs: 40_000 })
    const r = await runAction(
      'canary-promote',
      inputs({ 'step-duration': '2s', 'analysis-interval': '2s', 'max-step-duration': '6s' })
    )
    expect(r.exitCode).toBe(1)
    expect(r.outputs).toMatchObject({ result: 'aborted', 'final-weight': '0' })
    expect(errorOf(r)).toMatch(
      /inconclusive after 3 analyses \(.*max-step-duration\): not enough evidence to pass, so not promoted; at 50% error rate: .*inconclusive: 0 errors in ≈?[\d,.]+ requests shows only error rate ≤ [\d.]+ % at 95 % \(one-sided, Clopper-Pearson, [\d.]+ % per look over 6 looks\); [\d,]+ requests with no error would show ≤ 0\.1 %/
    )
    const decisions = JSON.parse(r.outputs.decisions) as Decision[]
    expect(decisions.map((d) => d.verdict)).toEqual([
      'inconclusive',
      'inconclusive',
      'inconclusive'
    ])
    expect(decisions.every((d) => d.weight === 50)).toBe(true)
    expect(await lb.command('get weight app/green')).toMatch(/^0 /)
    expect(r.summary).toMatch(/shows only error rate ≤/)
  })

  it('a clean canary with enough requests is promoted, each pass stating its bound', async () => {
    load = startLoad(lb.url, { ratePerSecond: 300, maxDurationMs: 60_000 })
    const r = await runAction(
      'canary-promote',
      inputs({
        'max-error-rate': '1%',
        'step-duration': '3s',
        'analysis-interval': '3s',
        'max-step-duration': '15s'
      })
    )
    expect(errorOf(r)).toBe('')
    expect(r.outputs).toMatchObject({ result: 'promoted', 'final-weight': '100' })
    // 2 steps x 5 analyses = 10 looks, each at 99.5 %: 528 clean requests show <= 1 %
    expect(r.stdout).toMatch(/with no error that takes 528 canary requests in a step/)
    const decisions = JSON.parse(r.outputs.decisions) as Decision[]
    for (const weight of [50, 100]) {
      const pass = decisions.find((d) => d.weight === weight && d.verdict === 'pass')!
      const err = pass.measurements.find((m) => m.check === 'error rate')!
      expect(err.shown).toMatch(
        /0 errors in ≈?[\d,.]+ requests: error rate ≤ 0\.\d+ % at 95 % \(one-sided, Clopper-Pearson, 99\.5 % per look over 10 looks\)/
      )
      const p95 = pass.measurements.find((m) => m.check === 'p95 latency')!
      // the lab app has a bucket at 0.5 s: the P95 answer is exact at the bound
      expect(p95.shown).toMatch(/the bound is a bucket boundary/)
    }
    expect(r.summary).toMatch(/error rate ≤ 0\.\d+ % at 95 %/)
  })

  it('a canary returning 0.5 % errors is shown above the 0.1 % SLO and aborted', async () => {
    await app.green.control({ errorRate: 0.005 })
    load = startLoad(lb.url, { ratePerSecond: 300, maxDurationMs: 60_000 })
    const r = await runAction(
      'canary-promote',
      inputs({ 'step-duration': '3s', 'analysis-interval': '3s', 'max-step-duration': '30s' })
    )
    expect(r.exitCode).toBe(1)
    expect(r.outputs).toMatchObject({
      result: 'aborted',
      'final-weight': '0',
      'failed-check': 'error rate'
    })
    expect(errorOf(r)).toMatch(
      /1 failed analysis .* at 50% error rate: .*errors in ≈?[\d,.]+ requests: error rate ≥ 0\.\d+ % at 95 % .*above the 0\.1 % bound/
    )
    const decisions = JSON.parse(r.outputs.decisions) as Decision[]
    // before the fail the evidence was short of a verdict: never a pass
    expect(decisions.slice(0, -1).every((d) => d.verdict === 'inconclusive')).toBe(true)
    expect(decisions[decisions.length - 1].verdict).toBe('fail')
    expect(await lb.command('get weight app/green')).toMatch(/^0 /)
  })

  it('analysis sequential: a clean canary with too few requests ends inconclusive, stating its anytime-valid bound', async () => {
    load = startLoad(lb.url, { ratePerSecond: 40, maxDurationMs: 60_000 })
    const r = await runAction(
      'canary-promote',
      inputs({ analysis: 'sequential', 'step-duration': '1s', 'analysis-interval': '1s' })
    )
    expect(r.exitCode).toBe(1)
    expect(r.outputs).toMatchObject({ result: 'aborted', 'final-weight': '0' })
    expect(errorOf(r)).toMatch(
      /inconclusive: step 50% did not come within bounds in .* \(observed \d+\/\d+ errors, \d+\/\d+ slow; anytime-valid upper bounds error rate ≤ [\d.]+ %, slow share ≤ [\d.]+ %\)/
    )
    // (a stray error, e.g. a connection cut at a weight change, does not change the verdict)
    expect(await lb.command('get weight app/green')).toMatch(/^0 /)
  })

  it('analysis sequential: a clean canary with enough requests advances on its anytime-valid bounds', async () => {
    load = startLoad(lb.url, { ratePerSecond: 300, maxDurationMs: 60_000 })
    const r = await runAction(
      'canary-promote',
      inputs({
        analysis: 'sequential',
        'max-error-rate': '1%',
        'step-duration': '2s',
        'analysis-interval': '2s'
      })
    )
    expect(errorOf(r)).toBe('')
    expect(r.outputs).toMatchObject({ result: 'promoted', 'final-weight': '100' })
    expect(r.stdout).toMatch(
      /step 50% held .*: within bounds: error rate ≤ (0\.\d+|1) %, slow share ≤ [\d.]+ % at 99 % \(anytime-valid, over \d+ canary requests so far\)/
    )
  })

  it.each([
    [
      'a negative count (a reset through a hand-written query)',
      'vector(-100)',
      /no data: -100 is not a count/
    ],
    ['+Inf requests', 'vector(+Inf)', /no data: Infinity is not a count/],
    [
      'more errors than requests',
      'vector(3)',
      /no data: \d+ errors of 3 requests \(the queries disagree\)/
    ]
  ])('hostile Prometheus answer, %s: no data, never a pass', async (_, requests, shown) => {
    const r = await runAction(
      'canary-promote',
      inputs({
        'step-duration': '1s',
        'analysis-interval': '1s',
        'min-requests': '1',
        'compare-with-stable': 'false',
        'request-count-query': requests,
        'error-rate-query': 'vector(10)',
        'latency-query': 'vector(0.01)'
      })
    )
    expect(r.exitCode).toBe(1)
    expect(r.outputs).toMatchObject({ result: 'aborted', 'final-weight': '0' })
    expect(errorOf(r)).toMatch(/2 inconclusive analyses in a row/)
    const decisions = JSON.parse(r.outputs.decisions) as Decision[]
    const shownAll = decisions.flatMap((d) => d.measurements.map((m) => m.shown)).join('\n')
    expect(shownAll).toMatch(shown)
    expect(await lb.command('get weight app/green')).toMatch(/^0 /)
  })

  it('a P95 of +Inf (every request above the largest bucket) fails, it is not "no data"', async () => {
    const r = await runAction(
      'canary-promote',
      inputs({
        'step-duration': '1s',
        'analysis-interval': '1s',
        'compare-with-stable': 'false',
        'max-error-rate': '5%',
        'request-count-query': 'vector(100000)',
        'error-rate-query': 'vector(0)',
        // what histogram_quantile answers when the quantile is in the +Inf bucket
        'latency-query': 'vector(+Inf)'
      })
    )
    expect(r.exitCode).toBe(1)
    expect(r.outputs).toMatchObject({ result: 'aborted', 'failed-check': 'p95 latency' })
    const decisions = JSON.parse(r.outputs.decisions) as Decision[]
    expect(decisions).toHaveLength(1)
    expect(decisions[0].measurements.find((m) => m.check === 'p95 latency')).toMatchObject({
      verdict: 'fail'
    })
  })
})
