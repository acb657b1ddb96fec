import type { QueryValue } from './prometheus.js'
import { compare, type Comparator } from './queries.js'
import { describeBound, judgeRate, samplesForQuantile } from './interval.js'
import { wilsonInterval } from './stats.js'

export type Verdict = 'pass' | 'fail' | 'inconclusive'

/** One measured value and what it meant, kept for the record (decisions output, summary). */
export interface Measurement {
  check: string
  query?: string
  value: number | null
  /** How the value is shown: `0.12%`, `812 ms`, `37 requests`. */
  shown: string
  bound: string
  verdict: Verdict
  note?: string
  /**
   * Inconclusive only for want of samples (the interval still holds the bound): more traffic
   * can decide it, so the canary keeps sampling the step instead of counting it as no data.
   */
  needsMore?: boolean
  /** interval judgement: the bounds (percent) behind the verdict, for the record. */
  lowPercent?: number
  highPercent?: number
}

/**
 * How a sampled rate is judged. `interval`: pass only when the one-sided upper bound is at or
 * below the SLO, fail only when the lower bound is above it, else inconclusive (never a pass).
 * `point`: the observed rate against the SLO (the older, weaker rule: a pass on 140 clean
 * requests says only "≤ 2.1 %").
 */
export type ErrorJudgement = 'interval' | 'point'

export interface SloThresholds {
  maxErrorRatePercent: number
  maxP95Ms: number
  minRequests: number
  /** How much worse than the stable slot the canary may be (percentage points). */
  maxErrorRateIncreasePoints: number
  /** How much slower than the stable slot the canary's P95 may be (relative, percent). */
  maxP95IncreasePercent: number
  /**
   * P95 differences below this many ms are never a regression: histogram buckets and low
   * traffic make a 5 ms vs 9 ms P95 noise, though it is "80 % slower".
   */
  p95NoiseFloorMs: number
  /** Default `interval`. */
  errorJudgement?: ErrorJudgement
  /** Overall one-sided confidence of the interval judgement (default 0.95). */
  confidence?: number
  /** How many analyses the confidence is split over (Bonferroni; default 1). */
  looks?: number
  /**
   * Histogram bucket bounds (seconds) around max-p95-latency when it is not itself a bucket
   * bound: histogram_quantile interpolates linearly inside a bucket, so a P95 in this bucket
   * cannot be told apart from the bound.
   */
  p95Bucket?: { low: number; high: number } | 'boundary'
}

/** What was read from Prometheus for one slot; `error` when the query could not be answered. */
export type Reading = QueryValue | { kind: 'error'; message: string }

export interface SlotReadings {
  requests: Reading
  errors: Reading
  p95Seconds: Reading
}

export interface ExtraReading {
  name: string
  query: string
  op: Comparator
  bound: number
  reading: Reading
}

const num = (r: Reading): number | null => (r.kind === 'value' ? r.value : null)

/** A count must be a finite number >= 0: +Inf or a negative "count" (a reset seen through
 * increase() of a hand-written query, a subtraction gone wrong) is no data, never a rate; so is
 * one beyond 2^53 (no HTTP counter gets there; the Clopper-Pearson bound breaks down: 1e300
 * requests with 1 % errors showed an upper bound of 4e-17 %). */
const count = (r: Reading): number | null =>
  r.kind === 'value' &&
  Number.isFinite(r.value) &&
  r.value >= 0 &&
  r.value <= Number.MAX_SAFE_INTEGER
    ? r.value
    : null

function noData(r: Reading): string {
  if (r.kind === 'error') return `no data: ${r.message}`
  if (r.kind === 'nan') return 'no data: the query returned NaN'
  if (r.kind === 'value') return `no data: ${r.value} is not a count`
  return 'no data: the query returned no series'
}

const pct = (v: number): string => `${(v * 100).toFixed(3)}%`

/**
 * The counts behind a rate. increase() extrapolates, so its counts are often fractional: then
 * they are shown as the estimates they are (one decimal), never rounded into integers that do
 * not give the rate shown (3.8 % shown as 1/37).
 */
export function countsShown(errors: number, requests: number): string {
  const whole = (x: number): boolean => Math.abs(x - Math.round(x)) < 1e-6
  if (whole(errors) && whole(requests)) return `(${Math.round(errors)}/${Math.round(requests)})`
  return `(≈${errors.toFixed(1)}/${requests.toFixed(1)}, Prometheus increase() estimates)`
}

/**
 * Judges one analysis of the canary. Rules (documented in actions/canary-promote/README.md):
 * - fewer requests than `minRequests`, or any query without an answer -> inconclusive, never pass;
 * - fixed bounds, error-judgement interval (default): the error rate's upper bound (Clopper-Pearson,
 *   confidence split over `looks`) <= max, else fail when its lower bound is above, else
 *   inconclusive; the P95 as judgeP95 says. error-judgement point: the observed error rate
 *   <= max and the P95 < max;
 * - against the stable slot: fail only when the canary is worse *with confidence*: the lower
 *   bound of the canary's 95 % Wilson interval for its error rate exceeds the stable rate plus
 *   the allowed increase; P95 above stable's by more than the allowed percentage and by more
 *   than `p95NoiseFloorMs`. When either slot has too little traffic, that comparison is
 *   skipped (noted), not failed;
 * - extra checks: each query's value against its bound, no answer -> inconclusive.
 */
export function judgeAnalysis(
  canary: SlotReadings,
  stable: SlotReadings | undefined,
  extras: ExtraReading[],
  t: SloThresholds,
  queries: { requests?: string; errors?: string; p95?: string } = {}
): { verdict: Verdict; measurements: Measurement[]; needsMore: boolean } {
  const m: Measurement[] = []
  const requests = count(canary.requests)
  const errors = count(canary.errors)
  const p95Raw = num(canary.p95Seconds)
  // histogram_quantile gives +Inf when the quantile is in the +Inf bucket: slower than every bound
  const p95 = p95Raw !== null && (p95Raw >= 0 || p95Raw === Infinity) ? p95Raw : null
  const enough = requests !== null && requests >= t.minRequests
  const interval = (t.errorJudgement ?? 'interval') === 'interval'
  const confidence = t.confidence ?? 0.95
  const looks = Math.max(1, t.looks ?? 1)

  m.push({
    check: 'requests',
    query: queries.requests,
    value: requests,
    shown: requests === null ? noData(canary.requests) : `${Math.round(requests)} requests`,
    bound: `>= ${t.minRequests}`,
    verdict: enough ? 'pass' : 'inconclusive',
    note: enough ? undefined : requests === null ? undefined : 'too little traffic to judge'
  })

  if (errors === null || requests === null) {
    m.push({
      check: 'error rate',
      query: queries.errors,
      value: null,
      shown: noData(errors === null ? canary.errors : canary.requests),
      bound: `<= ${t.maxErrorRatePercent}%`,
      verdict: 'inconclusive'
    })
  } else if (errors > requests + 1e-9) {
    // more errors than requests: the two queries disagree (different selectors, a reset)
    m.push({
      check: 'error rate',
      query: queries.errors,
      value: null,
      shown: `no data: ${errors} errors of ${requests} requests (the queries disagree)`,
      bound: `<= ${t.maxErrorRatePercent}%`,
      verdict: 'inconclusive'
    })
  } else if (interval) {
    const rate = requests > 0 ? errors / requests : 0
    const j = judgeRate(errors, requests, t.maxErrorRatePercent, confidence, looks)
    m.push({
      check: 'error rate',
      query: queries.errors,
      value: rate * 100,
      shown: `${pct(rate)} ${countsShown(errors, requests)}; ${describeBound(j)}`,
      bound: `upper bound <= ${t.maxErrorRatePercent}%`,
      verdict: !enough ? 'inconclusive' : j.verdict,
      needsMore: enough && j.verdict === 'inconclusive',
      lowPercent: j.low * 100,
      highPercent: j.high * 100
    })
  } else {
    const rate = requests > 0 ? errors / requests : 0
    m.push({
      check: 'error rate',
      query: queries.errors,
      value: rate * 100,
      shown: `${pct(rate)} ${countsShown(errors, requests)}; point estimate, no bound stated (error-judgement point)`,
      bound: `<= ${t.maxErrorRatePercent}%`,
      verdict: !enough
        ? 'inconclusive'
        : rate * 100 <= t.maxErrorRatePercent + 1e-9
          ? 'pass'
          : 'fail'
    })
  }

  if (p95 === null) {
    m.push({
      check: 'p95 latency',
      query: queries.p95,
      value: null,
      shown: noData(canary.p95Seconds),
      bound: `< ${t.maxP95Ms} ms`,
      verdict: 'inconclusive'
    })
  } else if (interval) {
    m.push(judgeP95(p95, requests, t, confidence, looks, enough, queries.p95))
  } else {
    const ms = p95 * 1000
    m.push({
      check: 'p95 latency',
      query: queries.p95,
      value: ms,
      shown: `${Math.round(ms)} ms`,
      bound: `< ${t.maxP95Ms} ms`,
      verdict: !enough ? 'inconclusive' : ms < t.maxP95Ms ? 'pass' : 'fail'
    })
  }

  if (stable) m.push(...compareWithStable(canary, stable, t, enough))

  for (const x of extras) {
    const v = num(x.reading)
    m.push({
      check: x.name,
      query: x.query,
      value: v,
      shown: v === null ? noData(x.reading) : String(Number(v.toPrecision(6))),
      bound: `${x.op} ${x.bound}`,
      verdict: v === null ? 'inconclusive' : compare(v, x.op, x.bound) ? 'pass' : 'fail'
    })
  }

  const verdict: Verdict = m.some((x) => x.verdict === 'fail')
    ? 'fail'
    : m.some((x) => x.verdict === 'inconclusive')
      ? 'inconclusive'
      : 'pass'
  const needsMore =
    verdict === 'inconclusive' &&
    m.filter((x) => x.verdict === 'inconclusive').every((x) => x.needsMore)
  return { verdict, measurements: m, needsMore }
}

/**
 * A P95 from histogram_quantile under the interval judgement. What it can show is limited
 * twice: by the samples (a distribution-free bound of a P95 needs 1 - 0.95^n >= confidence, 59
 * samples at 95 %; fewer say nothing) and by the buckets (inside the bucket that holds the
 * bound, the value is a linear interpolation, so a P95 there is neither shown below nor above).
 */
export function judgeP95(
  p95Seconds: number,
  requests: number | null,
  t: SloThresholds,
  confidence: number,
  looks: number,
  enough: boolean,
  query?: string
): Measurement {
  const ms = p95Seconds * 1000
  const needed = samplesForQuantile(0.95, 1 - (1 - confidence) / Math.max(1, looks))
  const base = {
    check: 'p95 latency',
    query,
    value: Number.isFinite(ms) ? ms : null,
    bound: `< ${t.maxP95Ms} ms`
  }
  const shownMs = Number.isFinite(ms) ? `${Math.round(ms)} ms` : 'above the largest bucket (+Inf)'
  if (requests === null || requests < needed) {
    return {
      ...base,
      shown: `${shownMs}; inconclusive: ${requests === null ? 'no request count' : `${Math.round(requests)} requests`} cannot bound a P95 (${needed} needed at ${Number((confidence * 100).toPrecision(3))} %${looks > 1 ? ` over ${looks} looks` : ''})`,
      verdict: 'inconclusive',
      needsMore: requests !== null
    }
  }
  const b = t.p95Bucket
  if (b && b !== 'boundary' && p95Seconds > b.low && p95Seconds <= b.high) {
    return {
      ...base,
      shown: `${shownMs}; inconclusive: it lies in the histogram bucket (${b.low * 1000} ms, ${b.high * 1000} ms] that holds the ${t.maxP95Ms} ms bound, where histogram_quantile only interpolates (resolution: that bucket)`,
      verdict: 'inconclusive'
    }
  }
  const resolution =
    b === undefined
      ? 'histogram buckets not known'
      : b === 'boundary'
        ? 'the bound is a bucket boundary'
        : `bucket resolution: the bound lies in (${b.low * 1000} ms, ${b.high * 1000} ms]`
  return {
    ...base,
    shown: `${shownMs} from ${Math.round(requests)} requests (${resolution})`,
    verdict: !enough ? 'inconclusive' : ms < t.maxP95Ms ? 'pass' : 'fail'
  }
}

function compareWithStable(
  canary: SlotReadings,
  stable: SlotReadings,
  t: SloThresholds,
  canaryEnough: boolean
): Measurement[] {
  const out: Measurement[] = []
  const sReq = num(stable.requests)
  const sErr = num(stable.errors)
  const cReq = num(canary.requests)
  const cErr = num(canary.errors)
  const stableEnough = sReq !== null && sReq >= t.minRequests
  if (!stableEnough || sErr === null || cReq === null || cErr === null || !canaryEnough) {
    out.push({
      check: 'error rate vs stable',
      value: null,
      shown: 'skipped: too little traffic on one of the slots',
      bound: `<= stable + ${t.maxErrorRateIncreasePoints} points`,
      verdict: 'pass',
      note: 'not judged'
    })
  } else {
    const stableRate = sErr / sReq
    const { low } = wilsonInterval(cErr, cReq)
    const allowed = stableRate + t.maxErrorRateIncreasePoints / 100
    out.push({
      check: 'error rate vs stable',
      value: low * 100,
      shown: `canary ≥ ${pct(low)} (95% lower bound) vs stable ${pct(stableRate)}`,
      bound: `<= ${pct(allowed)}`,
      verdict: low <= allowed ? 'pass' : 'fail'
    })
  }
  const sP95 = num(stable.p95Seconds)
  const cP95 = num(canary.p95Seconds)
  if (!stableEnough || sP95 === null || cP95 === null || !canaryEnough) {
    out.push({
      check: 'p95 vs stable',
      value: null,
      shown: 'skipped: too little traffic on one of the slots',
      bound: `<= stable + ${t.maxP95IncreasePercent}% (min ${t.p95NoiseFloorMs} ms)`,
      verdict: 'pass',
      note: 'not judged'
    })
  } else {
    const allowed = Math.max(
      sP95 * (1 + t.maxP95IncreasePercent / 100),
      sP95 + t.p95NoiseFloorMs / 1000
    )
    out.push({
      check: 'p95 vs stable',
      value: cP95 * 1000,
      shown: `canary ${Math.round(cP95 * 1000)} ms vs stable ${Math.round(sP95 * 1000)} ms`,
      bound: `<= ${Math.round(allowed * 1000)} ms`,
      verdict: cP95 <= allowed ? 'pass' : 'fail'
    })
  }
  return out
}

/**
 * How analyses add up to a decision. `failureLimit` is the number of failed analyses tolerated:
 * the run aborts on failure number failureLimit + 1 (0 = the first failure aborts).
 * `maxInconclusive` is the number of consecutive inconclusive analyses that abort the run
 * (2 = the second in a row aborts). A pass resets the inconclusive streak, not the failures.
 */
export class AnalysisTally {
  failures = 0
  inconclusiveStreak = 0

  constructor(
    readonly failureLimit: number,
    readonly maxInconclusive: number
  ) {}

  /** Returns why the run must abort now, or undefined to go on. */
  record(verdict: Verdict): string | undefined {
    if (verdict === 'fail') {
      this.failures++
      this.inconclusiveStreak = 0
      if (this.failures > this.failureLimit) {
        return `${this.failures} failed analys${this.failures === 1 ? 'is' : 'es'} (failure-limit ${this.failureLimit} tolerates ${this.failureLimit})`
      }
    } else if (verdict === 'inconclusive') {
      this.inconclusiveStreak++
      if (this.inconclusiveStreak >= this.maxInconclusive) {
        return `${this.inconclusiveStreak} inconclusive analyses in a row (max-inconclusive ${this.maxInconclusive})`
      }
    } else {
      this.inconclusiveStreak = 0
    }
    return undefined
  }
}
