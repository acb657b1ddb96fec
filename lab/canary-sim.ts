/**
 * Pure simulation of a canary's counts as Prometheus would show them, poll by poll, for the
 * sequential-analysis tests and bench/canary-sequential.ts. Seeded, so a run can be repeated.
 * Request counts are Poisson (normal approximation: their exact law does not matter, every test
 * is conditional on them); errors and slow requests are exact binomials given the counts.
 */
import { SequentialAnalysis, type SequentialOptions } from '../src/slo/sequential.js'

/** mulberry32: small, fast, good enough for Monte Carlo of this size. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Exact binomial by geometric waiting times: cost O(n*min(p, 1-p)). */
export function binomial(rand: () => number, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0
  if (p >= 1) return n
  if (p > 0.5) return n - binomial(rand, n, 1 - p)
  const lq = Math.log(1 - p)
  let x = 0
  let i = 0
  for (;;) {
    i += Math.floor(Math.log(1 - rand()) / lq) + 1
    if (i > n) return x
    x++
  }
}

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
}

/** The split of requests between the slots: only its size matters, so an approximation will do. */
function split(rand: () => number, n: number, p: number): number {
  const v = n * p * (1 - p)
  if (v < 20) return binomial(rand, n, p)
  return Math.min(n, Math.max(0, Math.round(n * p + normal(rand) * Math.sqrt(v))))
}

export function poisson(rand: () => number, mean: number): number {
  if (mean <= 0) return 0
  if (mean < 30) {
    const l = Math.exp(-mean)
    let k = 0
    let p = 1
    for (;;) {
      p *= rand()
      if (p <= l) return k
      k++
    }
  }
  // Box-Muller normal approximation for large means
  return Math.max(0, Math.round(mean + normal(rand) * Math.sqrt(mean)))
}

export interface Traffic {
  ratePerSecond: number
  stableErrorRate: number
  canaryErrorRate: number
  /** Fraction of the canary's requests above the latency bound. */
  canarySlow: number
}

export interface Plan {
  steps: number[]
  stepSeconds: number
  pollSeconds: number
}

/** One second of traffic at a canary weight (percent). */
export interface Second {
  canaryRequests: number
  canaryErrors: number
  canarySlow: number
  stableRequests: number
  stableErrors: number
  stableSlow: number
}

export function second(rand: () => number, t: Traffic, weight: number): Second {
  const total = poisson(rand, t.ratePerSecond)
  const canaryRequests = split(rand, total, weight / 100)
  const stableRequests = total - canaryRequests
  return {
    canaryRequests,
    canaryErrors: binomial(rand, canaryRequests, t.canaryErrorRate),
    canarySlow: binomial(rand, canaryRequests, t.canarySlow),
    stableRequests,
    stableErrors: binomial(rand, stableRequests, t.stableErrorRate),
    // no test reads the stable slot's latency; drawing it would only cost time
    stableSlow: 0
  }
}

const EMPTY = {
  canaryRequests: 0,
  canaryErrors: 0,
  stableRequests: 0,
  stableErrors: 0,
  canaryLatencyCount: 0,
  canarySlow: 0
}

export interface SequentialRun {
  /** Seconds from the first step's start to the poll that rejected (undefined: promoted). */
  rejectedAt?: number
  culprit?: string
  /** Canary requests that failed before the weight went to 0. */
  failedRequests: number
}

/**
 * Runs the sequential analysis over a whole canary plan, one poll every `pollSeconds`. A poll
 * at time t sees the traffic up to the last scrape (lagging by up to one poll), as a real
 * Prometheus does; traffic keeps failing on the canary until the abort.
 */
export function simulateSequential(
  rand: () => number,
  traffic: Traffic,
  plan: Plan,
  options: SequentialOptions
): SequentialRun {
  const analysis = new SequentialAnalysis(options)
  let failed = 0
  let t = 0
  // The poll reads the counters scraped before it: the freshest second is not yet visible.
  let fresh: Second | undefined
  const batch = { ...EMPTY }
  for (const weight of plan.steps) {
    for (let s = 0; s < plan.stepSeconds; s++) {
      const sec = second(rand, traffic, weight)
      failed += sec.canaryErrors
      t++
      if (fresh) {
        batch.canaryRequests += fresh.canaryRequests
        batch.canaryErrors += fresh.canaryErrors
        batch.stableRequests += fresh.stableRequests
        batch.stableErrors += fresh.stableErrors
        batch.canaryLatencyCount += fresh.canaryRequests
        batch.canarySlow += fresh.canarySlow
      }
      fresh = sec
      if (t % plan.pollSeconds !== 0) continue
      const reject = analysis.update(batch)
      Object.assign(batch, EMPTY)
      if (reject) {
        return { rejectedAt: t, culprit: analysis.state().culprit, failedRequests: failed }
      }
    }
  }
  return { failedRequests: failed }
}
