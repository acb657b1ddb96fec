import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { Lab } from '../../lab/lab.js'
import { startLoad, type Load, type LoadStats } from '../../lab/load.js'
import { runAction, type RunActionOptions } from '../../lab/runner.js'
import { startApp, type AppSlot } from '../../lab/services/app.js'
import type { HaproxyInstance } from '../../lab/services/haproxy.js'
import { startNginx, type NginxInstance } from '../../lab/services/nginx.js'
import { startPrometheus, type PrometheusInstance } from '../../lab/services/prometheus.js'
import { startServiceStack } from '../../lab/stacks.js'

type Slots = Record<'blue' | 'green', AppSlot>
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

/**
 * How far a measured split may be from the asked weight: 4.5 binomial standard deviations of
 * `sent` requests (a good split falls outside about once in 150,000 steps) plus 2 points for
 * the requests in flight while the weight changes. It needs enough requests to mean anything.
 */
function splitTolerance(weight: number, sent: number): number {
  expect(sent).toBeGreaterThanOrEqual(100)
  const p = weight / 100
  return 100 * 4.5 * Math.sqrt((p * (1 - p)) / sent) + 2
}

/** Splits the load by step: marks the load counters each time the action starts a step. */
function stepWatcher(load: Load): {
  options: RunActionOptions
  splits: { weight: number; stats: LoadStats }[]
} {
  const splits: { weight: number; stats: LoadStats }[] = []
  let current: number | undefined
  const options: RunActionOptions = {
    onStart: (child) =>
      child.stdout?.on('data', (d: Buffer) => {
        for (const m of d.toString().matchAll(/step \d+\/\d+: \w+ at (\d+)%/g)) {
          const stats = load.mark()
          if (current !== undefined) splits.push({ weight: current, stats })
          current = Number(m[1])
        }
      })
  }
  return { options, splits }
}

describe('canary-promote with real Prometheus, HAProxy weights and real load', () => {
  const lab = Lab.create()
  let app: Slots
  let lb: HaproxyInstance
  let prometheus: PrometheusInstance
  let load: Load

  const inputs = (extra: Record<string, string> = {}): Record<string, string> => ({
    router: 'haproxy',
    'haproxy-socket': lb.socket,
    'prometheus-url': prometheus.url,
    'step-duration': '3s',
    'analysis-interval': '3s',
    'min-requests': '10',
    // about the steps, splits and cancels, not the statistics (the interval rule: interval.e2e.test.ts)
    'error-judgement': 'point',
    ...extra
  })

  beforeAll(async () => {
    ;({ app, lb, prometheus } = await startServiceStack(lab))
  })
  afterAll(() => lab.stop())
  beforeEach(async () => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
    await app.green.control({ errorRate: 0, latencyMs: 0 })
    load = startLoad(lb.url, { ratePerSecond: 250, maxDurationMs: 60_000 })
  })
  afterEach(async () => {
    await load.stop()
  })

  it('promotes a good canary through 5 -> 25 -> 50 -> 100, with the asked split at each step', async () => {
    const watch = stepWatcher(load)
    const r = await runAction('canary-promote', inputs(), watch.options)
    expect(errorOf(r)).toBe('')
    expect(r.outputs).toMatchObject({
      result: 'promoted',
      'final-weight': '100',
      'failed-check': '',
      'canary-slot': 'green'
    })
    const decisions = JSON.parse(r.outputs.decisions) as Decision[]
    expect(decisions.map((d) => d.weight)).toEqual(expect.arrayContaining([5, 25, 50, 100]))
    expect(decisions.filter((d) => d.verdict === 'pass').map((d) => d.weight)).toEqual(
      expect.arrayContaining([5, 25, 50, 100])
    )
    for (const d of decisions) {
      const req = d.measurements.find((m) => m.check === 'requests')
      expect(req?.value).not.toBeNull()
    }
    expect(r.summary).toMatch(/green promoted to 100%/)
    expect(r.summary).toMatch(/\| 5% \| 1 \| error rate \| 0\.000% /)
    // The split users saw through HAProxy at each step (measured by the load, not asserted from config).
    for (const { weight, stats } of watch.splits) {
      const share = (100 * (stats.bySlot.green ?? 0)) / stats.sent
      expect(Math.abs(share - weight)).toBeLessThan(splitTolerance(weight, stats.sent))
    }
    expect(watch.splits.map((s) => s.weight)).toEqual([5, 25, 50])
    expect(await lb.command('get weight app/green')).toMatch(/^100/)
  })

  it.each(['interval', 'sequential'])(
    'dry-run (%s analysis) names the canary and its steps, and changes nothing',
    async (analysis) => {
      const r = await runAction('canary-promote', inputs({ 'dry-run': 'true', analysis }))
      expect(errorOf(r)).toBe('')
      expect(r.outputs).toMatchObject({
        result: 'dry-run',
        'final-weight': '0',
        decisions: '[]',
        'canary-slot': 'green',
        'stable-slot': 'blue'
      })
      expect(r.stdout).toMatch(/dry run: would move green through 5% -> 25% -> 50% -> 100%/)
      expect(await lb.command('get weight app/green')).toMatch(/^0 /)
      expect(await lb.command('get weight app/blue')).toMatch(/^100 /)
    }
  )

  it('aborts a canary returning 5% errors at the first step, with the measured rate', async () => {
    await app.green.control({ errorRate: 0.05 })
    const r = await runAction('canary-promote', inputs())
    expect(r.exitCode).toBe(1)
    expect(r.outputs).toMatchObject({
      result: 'aborted',
      'final-weight': '0',
      'failed-check': 'error rate'
    })
    expect(errorOf(r)).toMatch(
      /canary aborted, all traffic back on blue: 1 failed analysis .* at 5% error rate: [\d.]+% \(≈?[\d.]+\/[\d.]+(, Prometheus increase\(\) estimates)?\); point estimate, no bound stated \(error-judgement point\) \(bound <= 0\.1%\)/
    )
    const decisions = JSON.parse(r.outputs.decisions) as Decision[]
    expect(decisions).toHaveLength(1)
    expect(decisions[0].weight).toBe(5)
    expect(decisions[0].measurements.find((m) => m.check === 'error rate')?.value).toBeGreaterThan(
      1
    )
    expect(await lb.command('get weight app/green')).toMatch(/^0 /)
    // The manual rollback after an aborted canary must not send users to the aborted release.
    const rb = await runAction('deploy-bluegreen', {
      router: 'haproxy',
      'haproxy-socket': lb.socket,
      mode: 'rollback',
      'health-check-on-rollback': 'false'
    })
    expect(rb.exitCode).not.toBe(0)
    expect(errorOf(rb)).toMatch(/nothing to roll back to: blue is live and the idle slot green/)
    expect(await lb.command('get weight app/green')).toMatch(/^0 /)
  })

  it('aborts a canary with P95 ~800 ms', async () => {
    await app.green.control({ latencyMs: 800 })
    const r = await runAction('canary-promote', inputs())
    expect(r.exitCode).toBe(1)
    expect(r.outputs['failed-check']).toBe('p95 latency')
    const decisions = JSON.parse(r.outputs.decisions) as Decision[]
    expect(decisions[0].measurements.find((m) => m.check === 'p95 latency')?.value).toBeGreaterThan(
      700
    )
    expect(await lb.command('get weight app/green')).toMatch(/^0 /)
  })

  it('never promotes without traffic: inconclusive twice, then aborted', async () => {
    await load.stop()
    const r = await runAction(
      'canary-promote',
      inputs({ 'step-duration': '2s', 'analysis-interval': '2s' })
    )
    expect(r.exitCode).toBe(1)
    expect(r.outputs).toMatchObject({
      result: 'aborted',
      'final-weight': '0',
      'failed-check': 'requests'
    })
    expect(errorOf(r)).toMatch(/2 inconclusive analyses in a row \(max-inconclusive 2\)/)
    const decisions = JSON.parse(r.outputs.decisions) as Decision[]
    expect(decisions.map((d) => d.verdict)).toEqual(['inconclusive', 'inconclusive'])
  })

  it('treats a NaN result as inconclusive, never a pass', async () => {
    const r = await runAction(
      'canary-promote',
      inputs({ 'latency-query': 'vector(0) / vector(0)' })
    )
    expect(r.exitCode).toBe(1)
    expect(r.outputs['failed-check']).toBe('p95 latency')
    expect(r.summary).toMatch(/no data: the query returned NaN/)
  })

  it('sets the canary weight to 0 on SIGTERM mid-run', async () => {
    let sent = false
    const r = await runAction('canary-promote', inputs({ 'step-duration': '6s' }), {
      onStart: (child) =>
        child.stdout?.on('data', (d: Buffer) => {
          if (!sent && /step 2\/4/.test(d.toString())) {
            sent = true
            setTimeout(() => child.kill('SIGTERM'), 300)
          }
        })
    })
    expect(sent).toBe(true)
    expect(r.exitCode).toBe(130)
    expect(r.stdout).toMatch(/cancelled \(SIGTERM\): canary weight set to 0/)
    expect(await lb.command('get weight app/green')).toMatch(/^0 /)
    expect(await lb.command('get weight app/blue')).toMatch(/^100 /)
  })

  it('the post step puts traffic back when main was killed outright (SIGKILL)', async () => {
    let sent = false
    const r = await runAction('canary-promote', inputs({ 'step-duration': '6s' }), {
      onStart: (child) =>
        child.stdout?.on('data', (d: Buffer) => {
          if (!sent && /step 2\/4/.test(d.toString())) {
            sent = true
            setTimeout(() => child.kill('SIGKILL'), 300)
          }
        })
    })
    expect(r.signal).toBe('SIGKILL')
    expect(r.post?.exitCode).toBe(0)
    expect(r.post?.annotations.map((a) => a.message).join()).toMatch(
      /did not finish: canary weight set to 0, all traffic on blue/
    )
    expect(await lb.command('get weight app/green')).toMatch(/^0 /)
  })

  it('abort right after promotion restores the previous slot in one step', async () => {
    await lb.command(
      'experimental-mode on; set var proc.opsactions_previous str(blue); set weight app/green 100; set weight app/blue 0'
    )
    const started = Date.now()
    const r = await runAction('canary-promote', {
      router: 'haproxy',
      'haproxy-socket': lb.socket,
      mode: 'abort'
    })
    expect(r.exitCode).toBe(0)
    expect(r.outputs.result).toBe('aborted')
    // One step: anything stepwise holds at least an analysis interval (30 s default) or a step
    // (1 m default); 30 s leaves a loaded machine room to start the bundle.
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(await lb.command('get weight app/blue')).toMatch(/^100 /)
  })
})

describe('canary-promote: Prometheus going away mid-run', () => {
  const lab = Lab.create()
  afterAll(() => lab.stop())

  it('aborts (inconclusive: unreachable) instead of promoting', async () => {
    const { lb, prometheus } = await startServiceStack(lab)
    const load = startLoad(lb.url, { ratePerSecond: 250, maxDurationMs: 40_000 })
    let stopped = false
    const r = await runAction(
      'canary-promote',
      {
        router: 'haproxy',
        'haproxy-socket': lb.socket,
        'prometheus-url': prometheus.url,
        'step-duration': '3s',
        'analysis-interval': '3s',
        'min-requests': '10',
        'error-judgement': 'point'
      },
      {
        onStart: (child) =>
          child.stdout?.on('data', (d: Buffer) => {
            if (!stopped && /step 2\/4/.test(d.toString())) {
              stopped = true
              void prometheus.process.stop()
            }
          })
      }
    )
    await load.stop()
    expect(r.exitCode).toBe(1)
    expect(r.outputs).toMatchObject({ result: 'aborted', 'final-weight': '0' })
    expect(r.summary).toMatch(/no data: Prometheus at .* unreachable/)
    expect(await lb.command('get weight app/green')).toMatch(/^0 /)
  })
})

describe('canary-promote on real nginx weights', () => {
  const lab = Lab.create()
  afterAll(() => lab.stop())

  it('promotes through weighted upstream files, with the asked split at each step', async () => {
    const app = await startApp(lab)
    const nginx: NginxInstance = await startNginx(lab, {
      upstream: `upstream app {\n  server 127.0.0.1:${app.blue.port};\n}\n`
    })
    const prometheus = await startPrometheus(lab, {
      targets: [
        { address: `127.0.0.1:${app.blue.port}` },
        { address: `127.0.0.1:${app.green.port}` }
      ]
    })
    await prometheus.waitForTargets()
    const load = startLoad(nginx.url, { ratePerSecond: 250, maxDurationMs: 60_000 })
    const watch = stepWatcher(load)
    const r = await runAction(
      'canary-promote',
      {
        router: 'nginx',
        'nginx-upstream-file': nginx.upstreamFile,
        'blue-servers': `127.0.0.1:${app.blue.port}`,
        'green-servers': `127.0.0.1:${app.green.port}`,
        'nginx-test-command': JSON.stringify(nginx.testCommand),
        'nginx-reload-command': JSON.stringify(nginx.reloadCommand),
        'prometheus-url': prometheus.url,
        'step-duration': '3s',
        'analysis-interval': '3s',
        'min-requests': '10',
        'error-judgement': 'point'
      },
      watch.options
    )
    await load.stop()
    expect(errorOf(r)).toBe('')
    expect(r.outputs.result).toBe('promoted')
    // nginx applies a reload a moment after the signal; judge the split on the settled part.
    for (const { weight, stats } of watch.splits) {
      const share = (100 * (stats.bySlot.green ?? 0)) / stats.sent
      expect(Math.abs(share - weight)).toBeLessThan(splitTolerance(weight, stats.sent) + 3)
    }
    writeFileSync(nginx.upstreamFile, `upstream app {\n  server 127.0.0.1:${app.blue.port};\n}\n`)
    execFileSync(nginx.reloadCommand[0], nginx.reloadCommand.slice(1))
  })
})
