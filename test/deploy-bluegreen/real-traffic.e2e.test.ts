/**
 * deploy-bluegreen judging real traffic (issue 14), through the bundle on real HAProxy and a
 * real Prometheus scraping the lab app every second. The probe goes to /healthz (never faulty,
 * not counted by the app's metrics), users' load to / through HAProxy: only Prometheus sees
 * what users get. Load: 80 req/s to 127.0.0.1, at most 40 s per test.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { Lab } from '../../lab/lab.js'
import { startLoad, type Load } from '../../lab/load.js'
import { freePort } from '../../lab/ports.js'
import { runAction } from '../../lab/runner.js'
import { startApp } from '../../lab/services/app.js'
import { startHaproxy, type HaproxyInstance } from '../../lab/services/haproxy.js'
import { startPrometheus, type PrometheusInstance } from '../../lab/services/prometheus.js'
import { startServiceStack } from '../../lab/stacks.js'
import { haproxyInputs, slotCounts, type Slots } from './helpers.js'

const errorOf = (r: { annotations: { level: string; message: string }[] }): string =>
  r.annotations
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
    .join('\n')

describe('deploy-bluegreen verification of real traffic (real HAProxy + Prometheus)', () => {
  const lab = Lab.create()
  let app: Slots
  let lb: HaproxyInstance
  let prometheus: PrometheusInstance
  let load: Load

  // 1 % SLO so a clean slot is shown below it in seconds: the probe needs 408 clean answers
  // over 3 looks (120/s x 4 s = 480), real traffic about as many (80/s, two looks).
  const inputs = (extra: Record<string, string> = {}): Record<string, string> =>
    haproxyInputs(app, [lb.socket], {
      'verify-url': `${lb.url}/healthz`,
      'verify-rate': '120',
      'verify-duration': '4s',
      'verify-max-duration': '12s',
      'verify-max-error-rate': '1%',
      // the loopback's latency on a loaded 2-core machine is not what these cases are about
      'verify-max-p95': '2s',
      'verify-prometheus-url': prometheus.url,
      ...extra
    })

  beforeAll(async () => {
    ;({ app, lb, prometheus } = await startServiceStack(lab))
  })
  afterAll(() => lab.stop())
  beforeEach(async () => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
    await app.green.control({ errorRate: 0, latencyMs: 0, healthy: true })
    load = startLoad(lb.url, { ratePerSecond: 80, maxDurationMs: 40_000 })
  })
  afterEach(async () => {
    await load.stop()
  })

  it('a clean release is verified on the probe and on real traffic, with the figures', async () => {
    const r = await runAction('deploy-bluegreen', inputs())
    expect(errorOf(r)).toBe('')
    expect(r.exitCode).toBe(0)
    expect(r.outputs).toMatchObject({
      verification: 'pass',
      'verify-traffic': 'pass',
      'live-slot': 'green',
      'rolled-back': 'false'
    })
    // 0 errors shown <= 1 % over 3 looks needs 408 requests of green
    expect(Number(r.outputs['verify-traffic-requests'])).toBeGreaterThanOrEqual(408)
    expect(Number(r.outputs['verify-traffic-error-rate-upper-bound'])).toBeLessThanOrEqual(1)
    expect(r.outputs['verify-traffic-p95-ms']).toMatch(/^\d+$/)
    expect(r.stdout).toMatch(/Verify real traffic of green from Prometheus \(slot="green"\)/)
    expect(r.summary).toMatch(/real traffic of green: error rate/)
    expect(r.summary).toMatch(/Verified \| yes \(probe and real traffic\)/)
    expect(await slotCounts(lb.url)).toEqual({ green: 20 })
  })

  it('a release whose users get 5 % errors while the probe is healthy is rolled back', async () => {
    await app.green.control({ errorRate: 0.05 })
    const r = await runAction('deploy-bluegreen', inputs())
    expect(r.exitCode).toBe(1)
    expect(errorOf(r)).toMatch(
      /verification failed after the switch to green: real traffic from Prometheus: error rate [\d.]+% .*error rate ≥ [\d.]+ % .*above the 1 % bound.*Rolled back: blue 100% \/ green 0%/
    )
    expect(r.outputs).toMatchObject({
      verification: 'fail',
      'verify-traffic': 'fail',
      'rolled-back': 'true',
      'live-slot': 'blue'
    })
    // the probe alone passed: /healthz never fails
    expect(r.stdout).toMatch(/look 1\/3: \d+ requests, 0 failed/)
    expect(Number(r.outputs['verify-traffic-requests'])).toBeGreaterThan(0)
    expect(r.summary).toMatch(/Verified \| no \(fail on real traffic, so rolled back\)/)
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })

  it('Prometheus down is inconclusive, never a pass: rolled back', async () => {
    const closed = await freePort()
    const r = await runAction(
      'deploy-bluegreen',
      inputs({ 'verify-prometheus-url': `http://127.0.0.1:${closed}`, 'prometheus-timeout': '2s' })
    )
    expect(r.exitCode).toBe(1)
    expect(errorOf(r)).toMatch(
      /verification inconclusive \(not verified\) after the switch to green: real traffic from Prometheus: .*unreachable.*Rolled back/
    )
    expect(r.outputs).toMatchObject({
      verification: 'inconclusive',
      'verify-traffic': 'inconclusive',
      'verify-traffic-requests': '',
      'rolled-back': 'true',
      'live-slot': 'blue'
    })
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })
})

describe("deploy-bluegreen verification of real traffic from the router's metrics (HAProxy's exporter)", () => {
  const lab = Lab.create()
  let app: Slots
  let lb: HaproxyInstance
  let prometheus: PrometheusInstance
  let load: Load

  beforeAll(async () => {
    app = await startApp(lab)
    lb = await startHaproxy(lab, {
      metrics: true,
      servers: [
        { name: 'blue', address: `127.0.0.1:${app.blue.port}`, weight: 100 },
        { name: 'green', address: `127.0.0.1:${app.green.port}`, weight: 0 }
      ]
    })
    prometheus = await startPrometheus(lab, { targets: [{ address: lb.metricsAddress! }] })
    await prometheus.waitForTargets()
  })
  afterAll(() => lab.stop())
  afterEach(async () => {
    await load.stop()
  })

  it('metrics-preset haproxy: 5 % errors of users through the router roll the release back', async () => {
    await app.green.control({ errorRate: 0.05 })
    // HAProxy counts the probe's 200s too (it goes through the router): more load keeps the
    // users' 5 % clearly above the 1 % bound in the mix (~600 of ~1,100 requests in 4 s)
    load = startLoad(lb.url, { ratePerSecond: 150, maxDurationMs: 40_000 })
    const r = await runAction(
      'deploy-bluegreen',
      haproxyInputs(app, [lb.socket], {
        'verify-url': `${lb.url}/healthz`,
        'verify-rate': '120',
        'verify-duration': '4s',
        'verify-max-duration': '12s',
        'verify-max-error-rate': '1%',
        'verify-max-p95': '2s',
        'verify-prometheus-url': prometheus.url,
        'metrics-preset': 'haproxy'
      })
    )
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toMatch(
      /Verify real traffic of green from Prometheus \(proxy="app", server="green"\)/
    )
    expect(errorOf(r)).toMatch(
      /verification failed after the switch to green: real traffic from Prometheus: error rate .*above the 1 % bound.*Rolled back: blue 100% \/ green 0%/
    )
    expect(r.outputs).toMatchObject({
      'verify-traffic': 'fail',
      'rolled-back': 'true',
      'live-slot': 'blue'
    })
    expect(await slotCounts(lb.url)).toEqual({ blue: 20 })
  })
})
