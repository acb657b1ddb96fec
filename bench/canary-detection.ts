/**
 * Canary benchmark (prints figures; asserts nothing).
 *   npx tsx bench/canary-detection.ts
 * 1. Detection: analysis interval 10 s, canary returning 5 % errors (then P95 ~800 ms): time
 *    from the first step's start to canary weight 0, and how many user requests failed
 *    meanwhile. Goal: abort within two analysis intervals.
 * 2. Promotion of a good canary versus the configured minimum (sum of step durations): the
 *    overhead of the action itself.
 */
import { Lab } from '../lab/lab.js'
import { startLoad } from '../lab/load.js'
import { runAction } from '../lab/runner.js'
import type { AppFaults } from '../lab/services/app.js'
import { startServiceStack } from '../lab/stacks.js'

const lab = Lab.create('ops-bench-')
try {
  const { app, lb, prometheus } = await startServiceStack(lab)
  const base = {
    router: 'haproxy',
    'haproxy-socket': lb.socket,
    'prometheus-url': prometheus.url,
    'min-requests': '20'
  }

  const detect = async (name: string, fault: AppFaults): Promise<void> => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
    await app.green.control({ errorRate: 0, latencyMs: 0, ...fault })
    const load = startLoad(lb.url, { ratePerSecond: 200, maxDurationMs: 120_000 })
    let stepStart = 0
    let zeroAt = 0
    let failedAtStart = 0
    const r = await runAction(
      'canary-promote',
      { ...base, 'step-duration': '30s', 'analysis-interval': '10s' },
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
      `${name.padEnd(12)} result ${r.outputs.result}, failed check ${r.outputs['failed-check']}: step start -> weight 0 in ` +
        `${((zeroAt - stepStart) / 1000).toFixed(1)} s (goal <= 20 s: two 10 s intervals), ${decisions.length} analysis, ` +
        `${failedByAbort} user requests failed meanwhile (200 req/s, 5% of them to the canary)`
    )
  }
  await detect('5% errors', { errorRate: 0.05 })
  await detect('P95 ~800 ms', { latencyMs: 800 })

  await lb.command('set weight app/blue 100; set weight app/green 0')
  await app.green.control({ errorRate: 0, latencyMs: 0 })
  const load = startLoad(lb.url, { ratePerSecond: 200, maxDurationMs: 120_000 })
  const stepMs = 5000
  const t0 = performance.now()
  const r = await runAction('canary-promote', {
    ...base,
    'step-duration': '5s',
    'analysis-interval': '5s'
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
