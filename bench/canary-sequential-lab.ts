/**
 * Sequential vs interval analysis in the lab, through the bundled action (prints figures;
 * asserts nothing). Needs `npm run build`.
 *   npx tsx bench/canary-sequential-lab.ts [good-canaries=20]
 * HAProxy + Prometheus (1 s scrape) + the sample app, 200 req/s of load.
 * 1. A 5 % error canary, then a P95 ~800 ms canary, at 5 % weight: step start -> weight 0 and
 *    failed user requests meanwhile, for analysis interval (10 s) and sequential (alpha 0.01).
 * 2. N good canaries under sequential analysis (steps of 3 s): how many were aborted.
 */
import { Lab } from '../lab/lab.js'
import { startLoad } from '../lab/load.js'
import { runAction } from '../lab/runner.js'
import type { AppFaults } from '../lab/services/app.js'
import { startServiceStack } from '../lab/stacks.js'

const GOOD = Number(process.argv[2] ?? 20)
const lab = Lab.create('ops-bench-seq-')
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
    analysis: Record<string, string>
  ): Promise<void> => {
    await lb.command('set weight app/blue 100; set weight app/green 0')
    await app.green.control({ errorRate: 0, latencyMs: 0, ...fault })
    const load = startLoad(lb.url, { ratePerSecond: 200, maxDurationMs: 120_000 })
    let stepStart = 0
    let zeroAt = 0
    let failedAtStart = 0
    const r = await runAction(
      'canary-promote',
      { ...base, 'step-duration': '30s', 'analysis-interval': '10s', ...analysis },
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
    const failed = load.stats().failed - failedAtStart
    await load.stop()
    console.log(
      `${name.padEnd(34)} ${r.outputs.result}, failed check ${r.outputs['failed-check']}: step start -> weight 0 in ` +
        `${((zeroAt - stepStart) / 1000).toFixed(1)} s, ${failed} user requests failed meanwhile`
    )
  }
  for (const [name, fault] of [
    ['5% errors', { errorRate: 0.05 }],
    ['P95 ~800 ms', { latencyMs: 800 }]
  ] as const) {
    await detect(`${name}, interval (10 s)`, fault, { analysis: 'interval' })
    await detect(`${name}, sequential (alpha 0.01)`, fault, { analysis: 'sequential' })
  }

  let aborted = 0
  const started = performance.now()
  await app.green.control({ errorRate: 0, latencyMs: 0 })
  for (let i = 0; i < GOOD; i++) {
    const canary = i % 2 === 0 ? 'green' : 'blue'
    await lb.command(
      canary === 'green'
        ? 'set weight app/blue 100; set weight app/green 0'
        : 'set weight app/blue 0; set weight app/green 100'
    )
    const load = startLoad(lb.url, { ratePerSecond: 200, maxDurationMs: 60_000 })
    const r = await runAction('canary-promote', {
      ...base,
      analysis: 'sequential',
      'step-duration': '3s',
      'analysis-interval': '3s',
      // false aborts by the test itself: with the interval rule these short steps at ~10 canary
      // requests/s would end inconclusive (too few requests to show 0.1 %), not rejected
      'error-judgement': 'point'
    })
    await load.stop()
    if (r.outputs.result !== 'promoted') {
      aborted++
      console.log(
        `  good canary ${i + 1} ${r.outputs.result}: ${r.stdout
          .split('\n')
          .filter((l) => /abort/.test(l))
          .join(' ')}`
      )
    }
  }
  console.log(
    `good canaries in the lab, sequential: ${aborted} of ${GOOD} aborted (${((performance.now() - started) / 1000).toFixed(0)} s)`
  )
} finally {
  await lab.stop()
}
