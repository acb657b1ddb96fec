/**
 * Canary benchmark (prints figures; asserts nothing).
 *   npx tsx bench/canary-detection.ts
 * 1. Detection: analysis interval 10 s, canary returning 5 % errors (then P95 ~800 ms): time
 *    from the first step's start to canary weight 0, and how many user requests failed
 *    meanwhile, for error-judgement point (the baseline) and interval (the default) in the same
 *    run, with their ratio. Goal: abort within two analysis intervals.
 * 2. Promotion of a good canary versus the configured minimum (sum of step durations): the
 *    overhead of the action itself (error-judgement point: these 5 s steps at ~10 canary
 *    requests/s cannot show 0.1 % under the interval rule, which ends them inconclusive).
 * 3. False aborts of good canaries over many simulated runs (no servers): today's point-estimate
 *    judgement of the absolute error-rate check against the interval judgement
 *    (src/slo/interval.ts, Bonferroni over the run's analyses). Goal: interval <= alpha (5 %).
 *    `npx tsx bench/canary-detection.ts --simulate` runs only this part.
 */
import { Lab } from '../lab/lab.js'
import { startLoad } from '../lab/load.js'
import { runAction } from '../lab/runner.js'
import type { AppFaults } from '../lab/services/app.js'
import { startServiceStack } from '../lab/stacks.js'
import { judgeRate } from '../src/slo/interval.js'
import { judgeAnalysis } from '../src/slo/judge.js'

/** mulberry32: small, well mixed, seeded so a run is repeatable. */
function generator(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function simulateFalseAborts(): void {
  const random = generator(7)
  const runs = 2000
  const analyses = 8 // 4 steps x 2 analyses, the defaults' shape
  const sloPercent = 0.1
  for (const { rate, requests } of [
    { rate: 0.0005, requests: 300 },
    { rate: 0.0001, requests: 300 },
    { rate: 0.001, requests: 3000 }
  ]) {
    let pointAborts = 0
    let intervalAborts = 0
    let intervalPasses = 0
    for (let r = 0; r < runs; r++) {
      let pointFailed = false
      let intervalFailed = false
      let allPassed = true
      for (let a = 0; a < analyses; a++) {
        let k = 0
        for (let i = 0; i < requests; i++) if (random() < rate) k++
        const point = judgeAnalysis(
          { requests: v(requests), errors: v(k), p95Seconds: v(0.01) },
          undefined,
          [],
          thresholds
        )
        if (point.measurements.find((m) => m.check === 'error rate')?.verdict === 'fail')
          pointFailed = true
        const j = judgeRate(k, requests, sloPercent, 0.95, analyses)
        if (j.verdict === 'fail') intervalFailed = true
        if (j.verdict !== 'pass') allPassed = false
      }
      if (pointFailed) pointAborts++
      if (intervalFailed) intervalAborts++
      if (allPassed) intervalPasses++
    }
    console.log(
      `good canary at ${(rate * 100).toFixed(2)}% errors (SLO ${sloPercent}%), ${requests} canary requests per analysis, ${analyses} analyses, ${runs} runs: ` +
        `false aborts point estimate ${((100 * pointAborts) / runs).toFixed(1)}% vs interval ${((100 * intervalAborts) / runs).toFixed(1)}% (goal <= 5%); ` +
        `interval shown within the SLO at every analysis in ${((100 * intervalPasses) / runs).toFixed(1)}% (the rest inconclusive, never a pass)`
    )
  }
}

const v = (value: number): { kind: 'value'; value: number } => ({ kind: 'value', value })
const thresholds = {
  maxErrorRatePercent: 0.1,
  maxP95Ms: 500,
  minRequests: 50,
  maxErrorRateIncreasePoints: 0.5,
  maxP95IncreasePercent: 50,
  p95NoiseFloorMs: 50,
  errorJudgement: 'point' as const
}

simulateFalseAborts()
if (process.argv.includes('--simulate')) process.exit(0)

const lab = Lab.create('ops-bench-')
try {
  const { app, lb, prometheus } = await startServiceStack(lab)
  const base = {
    router: 'haproxy',
    'haproxy-socket': lb.socket,
    'prometheus-url': prometheus.url,
    'min-requests': '20'
  }

  const detect = async (
    name: string,
    fault: AppFaults,
    judgement: 'point' | 'interval'
  ): Promise<number> => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
    await app.green.control({ errorRate: 0, latencyMs: 0, ...fault })
    const load = startLoad(lb.url, { ratePerSecond: 200, maxDurationMs: 120_000 })
    let stepStart = 0
    let zeroAt = 0
    let failedAtStart = 0
    const r = await runAction(
      'canary-promote',
      { ...base, 'step-duration': '30s', 'analysis-interval': '10s', 'error-judgement': judgement },
      {
        onStart: (child) =>
          child.stdout?.on('data', (d: Buffer) => {
            const text = d.toString()
            if (!stepStart && /step 1\/4/.test(text)) {
              stepStart = performance.now()
              failedAtStart = load.stats().failed
            }
            if (!zeroAt && /canary aborted/.test(text)) zeroAt = performance.now()
          })
      }
    )
    const failedByAbort = load.stats().failed - failedAtStart
    await load.stop()
    const decisions = JSON.parse(r.outputs.decisions ?? '[]') as unknown[]
    console.log(
      `${`${name}, ${judgement}`.padEnd(22)} result ${r.outputs.result}, failed check ${r.outputs['failed-check']}: step start -> weight 0 in ` +
        `${((zeroAt - stepStart) / 1000).toFixed(1)} s (goal <= 20 s: two 10 s intervals), ${decisions.length} analysis, ` +
        `${failedByAbort} user requests failed meanwhile (200 req/s, 5% of them to the canary)`
    )
    return zeroAt - stepStart
  }
  for (const [name, fault] of [
    ['5% errors', { errorRate: 0.05 }],
    ['P95 ~800 ms', { latencyMs: 800 }]
  ] as const) {
    const point = await detect(name, fault, 'point')
    const interval = await detect(name, fault, 'interval')
    console.log(
      `${name}: detection interval / point = ${(interval / point).toFixed(2)} (same run, same traffic)`
    )
  }

  await lb.command('set weight app/blue 100; set weight app/green 0')
  await app.green.control({ errorRate: 0, latencyMs: 0 })
  const load = startLoad(lb.url, { ratePerSecond: 200, maxDurationMs: 120_000 })
  const stepMs = 5000
  const t0 = performance.now()
  const r = await runAction('canary-promote', {
    ...base,
    'step-duration': '5s',
    'analysis-interval': '5s',
    'error-judgement': 'point'
  })
  const wall = performance.now() - t0
  const stats = await load.stop()
  const minimum = 4 * stepMs
  console.log(
    `promotion    result ${r.outputs.result} in ${(wall / 1000).toFixed(1)} s wall (${r.outputs['duration-s']} s inside the action) ` +
      `vs configured minimum ${(minimum / 1000).toFixed(0)} s: overhead ${(((wall - minimum) / minimum) * 100).toFixed(0)}% ` +
      `(${stats.failed} of ${stats.sent} user requests failed)`
  )
} finally {
  await lab.stop()
}
