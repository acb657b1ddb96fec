/**
 * Anytime-valid sequential analysis of a canary (after Lindon, Sanden, Shirikian, KDD 2022 and
 * NeurIPS 2022): the counts are looked at after every poll, as often as we like, and the chance
 * that a canary which meets its null hypothesis is ever aborted stays below `alpha`.
 *
 * Each check is an e-process: a non-negative (super)martingale with expectation <= 1 under its
 * null hypothesis, built as a mixture of likelihood ratios over a fixed grid of alternatives. By
 * Ville's inequality P(sup_t E_t >= 1/alpha) <= alpha. The checks are combined by a fixed
 * weighted average (itself an e-process), so the run as a whole keeps the bound, not each check.
 *
 * - errors vs stable: given the total number of errors in a batch, each error falls on the
 *   canary with probability s = canary share of requests when the canary is no worse (rate
 *   ratio theta <= 1); with theta > 1 it is theta*s / (theta*s + 1 - s). The share may change
 *   between polls: the per-batch likelihood ratios simply multiply.
 * - error rate: Bernoulli rate <= the SLO (0.1 %), one-sided; its lower confidence bound is the
 *   largest rate still rejected, so "lower bound above the SLO" is the same event as rejection.
 * - latency: requests slower than the P95 bound (from the histogram bucket at the bound) are a
 *   Bernoulli rate <= 5 %, the same test.
 */

/** Counts that arrived since the previous poll (differences of cumulative counters). */
export interface Batch {
  canaryRequests: number
  canaryErrors: number
  stableRequests: number
  stableErrors: number
  /** Canary requests whose latency was counted by the histogram, and those above the bound. */
  canaryLatencyCount: number
  canarySlow: number
}

const LN = Math.log

function logSumExp(xs: number[]): number {
  let m = -Infinity
  for (const x of xs) if (x > m) m = x
  if (m === -Infinity) return -Infinity
  let s = 0
  for (const x of xs) s += Math.exp(x - m)
  return m + LN(s)
}

/** Ratios of the alternatives to the null (rate or rate ratio); uniform weights. */
export const ERROR_RATIOS = [2, 4, 10, 25, 50, 100, 250]
export const SLOW_RATIOS = [1.5, 2, 3, 5, 10, 19]
export const THETAS = [2, 5, 10, 30, 100, 1000]

/**
 * One-sided test of "rate <= p0" against a mixture of rates r*p0 (r in a fixed grid, uniform
 * weights; alternatives at or above 1 are dropped, which only lowers the e-value). Depends on
 * the data only through (events, trials), so it is exact for any batching.
 */
export function rateEValue(
  events: number,
  trials: number,
  p0: number,
  ratios = ERROR_RATIOS
): number {
  return Math.exp(rateLogE(events, trials, p0, ratios))
}

function rateLogE(events: number, trials: number, p0: number, ratios: number[]): number {
  if (trials <= 0) return 0
  const terms: number[] = []
  for (const r of ratios) {
    const p = r * p0
    if (p >= 1) {
      terms.push(-Infinity)
      continue
    }
    terms.push(events * LN(r) + (trials - events) * (LN(1 - p) - LN(1 - p0)))
  }
  return logSumExp(terms) - LN(ratios.length)
}

/** One-sided test of "rate >= p1" against rates p1/r: large when the rate is clearly below p1. */
function rateBelowLogE(events: number, trials: number, p1: number, ratios: number[]): number {
  if (trials <= 0) return 0
  const terms = ratios.map((r) => {
    const p = p1 / r
    return events * -LN(r) + (trials - events) * (LN(1 - p) - LN(1 - p1))
  })
  return logSumExp(terms) - LN(ratios.length)
}

/** rateEValue for a fixed p0 with its logarithms computed once (it runs on every poll). */
function rateTest(p0: number, ratios: number[]): (events: number, trials: number) => number {
  const valid = ratios.filter((r) => r * p0 < 1)
  const logR = valid.map((r) => LN(r))
  const logQ = valid.map((r) => LN(1 - r * p0) - LN(1 - p0))
  const terms = valid.map(() => 0)
  return (events, trials) => {
    if (trials <= 0) return 1
    for (let i = 0; i < valid.length; i++) terms[i] = events * logR[i] + (trials - events) * logQ[i]
    return Math.exp(logSumExp(terms) - LN(ratios.length))
  }
}

/**
 * Anytime-valid bounds on a rate at level 1 - alpha each side: `low` is the largest p0 whose
 * test rejects "rate <= p0" (e-value >= 1/alpha), `high` the smallest p1 whose test rejects
 * "rate >= p1". Both e-values are monotone in p0, so bisection on a log scale finds them.
 */
export function rateBounds(
  events: number,
  trials: number,
  alpha: number,
  ratios = ERROR_RATIOS
): { low: number; high: number } {
  const threshold = LN(1 / alpha)
  const tiny = 1e-9
  const top = 1 - 1e-9
  /** Last p in [lo, hi] where f holds, f monotone true -> false; geometric steps to 1e-4. */
  const edge = (f: (p: number) => boolean): number => {
    let lo = tiny
    let hi = top
    if (!f(lo)) return 0
    if (f(hi)) return hi
    for (let i = 0; i < 80 && hi / lo > 1.0001; i++) {
      const mid = Math.sqrt(lo * hi)
      if (f(mid)) lo = mid
      else hi = mid
    }
    return lo
  }
  const low = edge((p) => rateLogE(events, trials, p, ratios) >= threshold)
  // "rate >= p1" is rejected for every p1 above the upper bound, not below it.
  const notRejected = (p: number): boolean => rateBelowLogE(events, trials, p, ratios) < threshold
  const high = trials > 0 ? Math.max(edge(notRejected), tiny) : 1
  return { low, high: Math.min(1, high) }
}

/** log likelihood ratio of one batch for the canary-vs-stable test at rate ratio theta. */
function shareLogLR(canaryErrors: number, stableErrors: number, share: number, theta: number) {
  const p = (theta * share) / (theta * share + 1 - share)
  return canaryErrors * (LN(p) - LN(share)) + stableErrors * (LN(1 - p) - LN(1 - share))
}

export interface SequentialOptions {
  alpha: number
  /** Error-rate SLO as a fraction (0.001 = 0.1 %). */
  maxErrorRate: number
  /** Fraction of requests allowed above the latency bound (0.05 for a P95 bound). */
  maxSlowFraction: number
  compareWithStable: boolean
}

export type SequentialCheck = 'errors vs stable' | 'error rate' | 'p95 latency'

export interface CheckState {
  check: SequentialCheck
  /** Weight of this check in the combined e-value (fixed before any data). */
  weight: number
  eValue: number
  /** Cumulative counts the check has seen. */
  events: number
  trials: number
  shown: string
  bound: string
}

export interface SequentialState {
  eValue: number
  threshold: number
  reject: boolean
  /** The check contributing most to a rejection (or the largest e-value). */
  culprit: SequentialCheck
  checks: CheckState[]
  /** Anytime-valid bounds on the canary's error rate and slow fraction. */
  errorRate: { low: number; high: number; observed: number }
  slowFraction: { low: number; high: number; observed: number }
  /** Every bound is met with confidence (upper bounds below the SLOs). */
  withinBounds: boolean
}

const pct = (v: number): string => `${(v * 100).toFixed(3)}%`

/** Validated once by the caller; kept here so a bad value cannot reach the arithmetic. */
export function checkOptions(o: SequentialOptions): void {
  const ok = (v: number, lo: number, hi: number): boolean => Number.isFinite(v) && v > lo && v < hi
  if (!ok(o.alpha, 0, 0.5)) throw new RangeError(`alpha ${o.alpha}: expected 0 < alpha < 0.5`)
  if (!ok(o.maxErrorRate, 0, 1))
    throw new RangeError(`max error rate ${o.maxErrorRate}: expected a fraction in (0, 1)`)
  if (!ok(o.maxSlowFraction, 0, 1))
    throw new RangeError(`slow fraction ${o.maxSlowFraction}: expected a fraction in (0, 1)`)
}

/**
 * The running analysis of one canary. Feed it every poll's batch with `update`; it says when
 * to abort (`reject`) and whether the evidence already puts the canary within bounds.
 */
export class SequentialAnalysis {
  private readonly weights: Record<SequentialCheck, number>
  private readonly shareLog: number[] = THETAS.map(() => 0)
  private canaryRequests = 0
  private canaryErrors = 0
  private stableRequests = 0
  private stableErrors = 0
  private latencyCount = 0
  private slow = 0
  private comparedErrors = 0

  private readonly errorTest: (events: number, trials: number) => number
  private readonly slowTest: (events: number, trials: number) => number

  constructor(readonly options: SequentialOptions) {
    checkOptions(options)
    this.errorTest = rateTest(options.maxErrorRate, ERROR_RATIOS)
    this.slowTest = rateTest(options.maxSlowFraction, SLOW_RATIOS)
    this.weights = options.compareWithStable
      ? { 'errors vs stable': 0.45, 'error rate': 0.45, 'p95 latency': 0.1 }
      : { 'errors vs stable': 0, 'error rate': 0.8, 'p95 latency': 0.2 }
  }

  /**
   * Adds one poll's batch; returns whether the combined e-value now rejects. A batch with no
   * error and no slow request can only lower every e-value, so it is not recomputed.
   */
  update(b: Batch): boolean {
    for (const k in b) {
      const v = b[k as keyof Batch]
      if (!(v >= 0) || !Number.isFinite(v)) {
        throw new RangeError(`batch ${k} = ${v}: expected a count`)
      }
    }
    const cErr = Math.min(b.canaryErrors, b.canaryRequests)
    const sErr = Math.min(b.stableErrors, b.stableRequests)
    this.canaryRequests += b.canaryRequests
    this.canaryErrors += cErr
    this.stableRequests += b.stableRequests
    this.stableErrors += sErr
    const slow = Math.min(b.canarySlow, b.canaryLatencyCount)
    this.latencyCount += b.canaryLatencyCount
    this.slow += slow
    // A batch where one slot had no requests says nothing about their relative error rates.
    if (b.canaryRequests > 0 && b.stableRequests > 0 && cErr + sErr > 0) {
      const share = b.canaryRequests / (b.canaryRequests + b.stableRequests)
      THETAS.forEach((t, i) => (this.shareLog[i] += shareLogLR(cErr, sErr, share, t)))
      this.comparedErrors += cErr + sErr
    }
    if (cErr + sErr + slow === 0) return false
    return this.combined() >= 1 / this.options.alpha
  }

  private combined(): number {
    const e = this.eValues()
    return (
      this.weights['errors vs stable'] * e.share +
      this.weights['error rate'] * e.errors +
      this.weights['p95 latency'] * e.slow
    )
  }

  private eValues(): { share: number; errors: number; slow: number } {
    return {
      share: Math.exp(logSumExp(this.shareLog) - LN(THETAS.length)),
      errors: this.errorTest(this.canaryErrors, this.canaryRequests),
      slow: this.slowTest(this.slow, this.latencyCount)
    }
  }

  /** Everything for the record: each check's e-value, counts and anytime-valid bounds. */
  state(): SequentialState {
    const { alpha, maxErrorRate, maxSlowFraction } = this.options
    const { share: shareE, errors: errE, slow: slowE } = this.eValues()
    const err = rateBounds(this.canaryErrors, this.canaryRequests, alpha)
    const slowB = rateBounds(this.slow, this.latencyCount, alpha, SLOW_RATIOS)
    const stableRate = this.stableRequests > 0 ? this.stableErrors / this.stableRequests : 0
    const canaryRate = this.canaryRequests > 0 ? this.canaryErrors / this.canaryRequests : 0
    const slowRate = this.latencyCount > 0 ? this.slow / this.latencyCount : 0
    const checks: CheckState[] = [
      {
        check: 'errors vs stable',
        weight: this.weights['errors vs stable'],
        eValue: shareE,
        events: this.canaryErrors,
        trials: this.comparedErrors,
        shown: `canary ${pct(canaryRate)} vs stable ${pct(stableRate)}, e-value ${fmt(shareE)}`,
        bound: `e-value < ${fmt(1 / alpha)}`
      },
      {
        check: 'error rate',
        weight: this.weights['error rate'],
        eValue: errE,
        events: this.canaryErrors,
        trials: this.canaryRequests,
        shown: `${pct(canaryRate)} (${this.canaryErrors}/${this.canaryRequests}), ${pct(err.low)}..${pct(err.high)} anytime-valid, e-value ${fmt(errE)}`,
        bound: `lower bound <= ${pct(maxErrorRate)}`
      },
      {
        check: 'p95 latency',
        weight: this.weights['p95 latency'],
        eValue: slowE,
        events: this.slow,
        trials: this.latencyCount,
        shown: `${pct(slowRate)} above the bound (${this.slow}/${this.latencyCount}), ${pct(slowB.low)}..${pct(slowB.high)}, e-value ${fmt(slowE)}`,
        bound: `slow fraction lower bound <= ${pct(maxSlowFraction)}`
      }
    ]
    const eValue = checks.reduce((s, c) => s + c.weight * c.eValue, 0)
    const culprit = checks.reduce((a, c) =>
      c.weight * c.eValue > a.weight * a.eValue ? c : a
    ).check
    return {
      eValue,
      threshold: 1 / alpha,
      reject: eValue >= 1 / alpha,
      culprit,
      checks,
      errorRate: { ...err, observed: canaryRate },
      slowFraction: { ...slowB, observed: slowRate },
      withinBounds: err.high <= maxErrorRate && slowB.high <= maxSlowFraction
    }
  }
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x)
  return x >= 1000 ? x.toExponential(2) : Number(x.toPrecision(3)).toString()
}
