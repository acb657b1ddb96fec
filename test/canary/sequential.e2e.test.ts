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
  measurements: { check: string; value: number | null; verdict: string }[]
}

describe('canary-promote analysis sequential, on real Prometheus, HAProxy and load', () => {
  const lab = Lab.create()
  let app: Record<'blue' | 'green', AppSlot>
  let lb: HaproxyInstance
  let prometheus: PrometheusInstance
  let load: Load

  const inputs = (extra: Record<string, string> = {}): Record<string, string> => ({
    router: 'haproxy',
    'haproxy-socket': lb.socket,
    'prometheus-url': prometheus.url,
    analysis: 'sequential',
    'step-duration': '3s',
    'analysis-interval': '3s',
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
    load = startLoad(lb.url, { ratePerSecond: 200, maxDurationMs: 60_000 })
  })
  afterEach(async () => {
    await load.stop()
  })

  it('promotes a good canary, polling at the scrape interval read from Prometheus', async () => {
    // about polling and per-step decisions: ~30 canary requests a step cannot show 0.1 % (the
    // interval rule's sequential steps: interval.e2e.test.ts)
    const r = await runAction('canary-promote', inputs({ 'error-judgement': 'point' }))
    expect(errorOf(r)).toBe('')
    expect(r.outputs).toMatchObject({ result: 'promoted', 'final-weight': '100' })
    expect(r.stdout).toMatch(/poll-interval: Prometheus scrapes every 1\.0s/)
    const decisions = JSON.parse(r.outputs.decisions) as Decision[]
    expect(decisions.map((d) => [d.weight, d.verdict])).toEqual([
      [5, 'pass'],
      [25, 'pass'],
      [50, 'pass'],
      [100, 'pass']
    ])
    expect(decisions[0].measurements.map((m) => m.check)).toEqual([
      'errors vs stable',
      'error rate',
      'p95 latency'
    ])
    expect(r.summary).toMatch(/green promoted to 100%/)
    expect(await lb.command('get weight app/green')).toMatch(/^100/)
  })

  it('aborts a 5% error canary at its first step, before the step could end', async () => {
    await app.green.control({ errorRate: 0.05 })
    const r = await runAction('canary-promote', inputs({ 'step-duration': '30s' }))
    expect(r.exitCode).toBe(1)
    expect(r.outputs).toMatchObject({ result: 'aborted', 'final-weight': '0' })
    expect(['errors vs stable', 'error rate']).toContain(r.outputs['failed-check'])
    expect(errorOf(r)).toMatch(/sequential test rejected \(e-value [\d.e+]+ >= 100\); at 5% /)
    const decisions = JSON.parse(r.outputs.decisions) as Decision[]
    expect(decisions.map((d) => [d.weight, d.verdict])).toEqual([[5, 'fail']])
    // aborted long before the 30 s step could have been judged
    expect(Number(r.outputs['duration-s'])).toBeLessThan(30)
    expect(await lb.command('get weight app/green')).toMatch(/^0 /)
  })

  it('aborts a canary with every request at ~800 ms by the latency check', async () => {
    await app.green.control({ latencyMs: 800 })
    const r = await runAction('canary-promote', inputs({ 'step-duration': '30s' }))
    expect(r.exitCode).toBe(1)
    expect(r.outputs['failed-check']).toBe('p95 latency')
    expect(Number(r.outputs['duration-s'])).toBeLessThan(30)
    expect(await lb.command('get weight app/green')).toMatch(/^0 /)
  })

  it.each([
    [{ alpha: '0' }, /input `alpha` = `0`: expected a probability/],
    [{ alpha: '1' }, /input `alpha` = `1`/],
    [{ alpha: '0.01; rm -rf /' }, /input `alpha`/],
    [{ 'poll-interval': '10ms' }, /input `poll-interval` = `10ms`: expected 1s to 10m/],
    [{ analysis: 'bayes' }, /analysis/],
    [{ 'latency-query': 'vector(1)' }, /sequential.*use analysis: interval with custom queries/]
  ])('refuses %p before touching traffic', async (bad, message) => {
    const r = await runAction('canary-promote', inputs(bad))
    // 2: a configuration error (docs/DEVELOPING.md), raised before the router is touched
    expect(r.exitCode).toBe(2)
    expect(errorOf(r)).toMatch(message)
    expect(await lb.command('get weight app/green')).toMatch(/^0 /)
  })
})
