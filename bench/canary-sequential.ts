/**
 * Sequential vs interval canary analysis on the same simulated traffic (prints figures; asserts
 * nothing). Pure simulation of the counts Prometheus would show, polled at the lab's cadence.
 *   npx tsx bench/canary-sequential.ts [good-canaries=10000]
 * Traffic 200 req/s, steps 5,25,50,100 of 60 s each. The sequential analysis polls every 1 s
 * (the scrape interval) and sees data one scrape late; the interval judge (src/slo/judge.ts,
 * the code canary-promote runs today) judges every 10 s on the window's counts.
 * 1. A 5 % error canary at 5 % weight: time to weight 0 and canary requests failed meanwhile.
 * 2. A P95 regression (every canary request 800 ms vs 5 ms): time to weight 0.
 * 3. False aborts over N good canaries (0.05 % errors on both slots, 1 % of requests above the
 *    latency bound), and over N canaries exactly at the SLOs (sequential only: the worst case).
 */
import { prng, second, simulateSequential, type Plan, type Traffic } from '../lab/canary-sim.js'
import { judgeAnalysis, AnalysisTally, type SloThresholds } from '../src/slo/judge.js'

const GOOD = Number(process.argv[2] ?? 10_000)
const plan: Plan = { steps: [5, 25, 50, 100], stepSeconds: 60, pollSeconds: 1 }
const intervalSeconds = 10
const options = { alpha: 0.01, maxErrorRate: 0.001, maxSlowFraction: 0.05, compareWithStable: true }
// canary-promote's defaults, min-requests as in bench/canary-detection.ts
const thresholds: SloThresholds = {
  maxErrorRatePercent: 0.1,
  maxP95Ms: 500,
  minRequests: 20,
  maxErrorRateIncreasePoints: 0.5,
  maxP95IncreasePercent: 50,
  p95NoiseFloorMs: 50,
  // the baseline these figures were measured against: the interval judge's point rule (the
  // interval rule's false aborts are bounded by its confidence: bench/canary-detection.ts)
  errorJudgement: 'point'
}
const base: Traffic = { ratePerSecond: 200, stableErrorRate: 0, canaryErrorRate: 0, canarySlow: 0 }

/** The interval judge over a whole plan: one judgement per 10 s window, the action's tally. */
function simulateInterval(
  rand: () => number,
  t: Traffic,
  p95: { canary: number; stable: number }
): { rejectedAt?: number; failedRequests: number } {
  const tally = new AnalysisTally(0, 2)
  let time = 0
  let failed = 0
  for (const weight of plan.steps) {
    for (let w = 0; w < plan.stepSeconds / intervalSeconds; w++) {
      const c = { requests: 0, errors: 0 }
      const s = { requests: 0, errors: 0 }
      for (let i = 0; i < intervalSeconds; i++) {
        const sec = second(rand, t, weight)
        c.requests += sec.canaryRequests
        c.errors += sec.canaryErrors
        s.requests += sec.stableRequests
        s.errors += sec.stableErrors
        failed += sec.canaryErrors
        time++
      }
      const v = (value: number) => ({ kind: 'value' as const, value })
      const judged = judgeAnalysis(
        { requests: v(c.requests), errors: v(c.errors), p95Seconds: v(p95.canary) },
        weight < 100
          ? { requests: v(s.requests), errors: v(s.errors), p95Seconds: v(p95.stable) }
          : undefined,
        [],
        thresholds
      )
      // + 0.1 s: the judge's queries and the weight change (measured 10.1 s in the lab)
      if (tally.record(judged.verdict)) return { rejectedAt: time + 0.1, failedRequests: failed }
    }
  }
  return { failedRequests: failed }
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}
const describe = (xs: number[]): string =>
  `median ${quantile(xs, 0.5).toFixed(1)} s, mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1)} s, p90 ${quantile(xs, 0.9).toFixed(1)} s`

function detection(name: string, t: Traffic, p95: { canary: number; stable: number }, runs = 2000) {
  const rand = prng(2022)
  const seq = Array.from({ length: runs }, () => simulateSequential(rand, t, plan, options))
  const int = Array.from({ length: runs }, () => simulateInterval(rand, t, p95))
  // the sequential poll answers ~0.1 s after the scrape it reads (query + weight change)
  const seqT = seq.map((r) => (r.rejectedAt ?? Infinity) + 0.1)
  const intT = int.map((r) => r.rejectedAt ?? Infinity)
  const failedSeq = seq.reduce((a, r) => a + r.failedRequests, 0) / runs
  const failedInt = int.reduce((a, r) => a + r.failedRequests, 0) / runs
  console.log(`${name} (${runs} runs each, time from step start to weight 0):`)
  console.log(
    `  sequential (poll 1 s, alpha ${options.alpha}): ${describe(seqT)}; ${failedSeq.toFixed(1)} failed user requests on average`
  )
  console.log(
    `  interval judge (10 s):            ${describe(intT)}; ${failedInt.toFixed(1)} failed user requests on average`
  )
  console.log(
    `  ratio sequential/interval: median ${(quantile(seqT, 0.5) / quantile(intT, 0.5)).toFixed(2)}, mean ${(seqT.reduce((a, b) => a + b) / intT.reduce((a, b) => a + b)).toFixed(2)} (goal <= 0.33)`
  )
}

detection(
  '5% error canary at 5% weight, 200 req/s',
  { ...base, canaryErrorRate: 0.05 },
  {
    canary: 0.005,
    stable: 0.005
  }
)
detection('P95 800 ms vs 5 ms', { ...base, canarySlow: 1 }, { canary: 0.8, stable: 0.005 })

const falseAborts = (name: string, t: Traffic, withInterval: boolean): void => {
  const rand = prng(7)
  const started = performance.now()
  let seq = 0
  let int = 0
  for (let i = 0; i < GOOD; i++) {
    if (simulateSequential(rand, t, plan, options).rejectedAt !== undefined) seq++
    if (withInterval && simulateInterval(rand, t, { canary: 0.005, stable: 0.005 }).rejectedAt)
      int++
  }
  console.log(
    `${name}, ${GOOD} canaries x ${plan.steps.length} steps of ${plan.stepSeconds} s: ` +
      `sequential false aborts ${seq} (${((seq / GOOD) * 100).toFixed(2)}%, alpha ${options.alpha * 100}%)` +
      (withInterval ? `; interval judge ${int} (${((int / GOOD) * 100).toFixed(2)}%)` : '') +
      ` [${((performance.now() - started) / 1000).toFixed(1)} s]`
  )
}
falseAborts(
  'good canaries (0.05% errors on both slots, 1% slow)',
  {
    ...base,
    stableErrorRate: 0.0005,
    canaryErrorRate: 0.0005,
    canarySlow: 0.01
  },
  true
)
falseAborts(
  'canaries exactly at the SLOs (0.1% errors, 5% slow)',
  {
    ...base,
    stableErrorRate: 0.001,
    canaryErrorRate: 0.001,
    canarySlow: 0.05
  },
  false
)
