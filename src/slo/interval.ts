/**
 * Judging an error rate from sampled requests with a stated bound: fail only when the rate is
 * shown above the SLO (the interval's lower bound is above it), pass only when it is shown
 * below (upper bound at or below), otherwise inconclusive, which is never a pass. A point
 * estimate instead fails a service sitting exactly at a 0.1 % SLO about half the time and
 * "passes" one with too few requests to say anything.
 */
export type IntervalVerdict = 'pass' | 'fail' | 'inconclusive'

export interface RateJudgement {
  verdict: IntervalVerdict
  failures: number
  total: number
  /** Bounds of the error rate (fractions), at the confidence used. */
  low: number
  high: number
  /** One-sided confidence of each bound after the split over looks, e.g. 0.975. */
  confidence: number
  /** Requests with no failure that would show the rate below the SLO at this confidence. */
  neededAtZero: number
  /** The SLO judged against (percent), the looks alpha was split over, the overall confidence. */
  maxRatePercent: number
  looks: number
  overallConfidence: number
}

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (p <= 0 || p >= 1) throw new RangeError(`normalQuantile: p = ${p} is outside (0, 1)`)
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239
  ]
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572
  ]
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
    4.374664141464968, 2.938163982698783
  ]
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416]
  const low = 0.02425
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p))
    return (
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    )
  }
  if (p > 1 - low) return -normalQuantile(1 - p)
  const q = p - 0.5
  const r = q * q
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  )
}

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9).
  const g = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7
  ]
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  x -= 1
  let a = g[0]
  const t = x + 7.5
  for (let i = 1; i < 9; i++) a += g[i] / (x + i)
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a)
}

/** Continued fraction of the incomplete beta function (Numerical Recipes' betacf). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  if (Math.abs(d) < tiny) d = tiny
  d = 1 / d
  let h = d
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const delta = d * c
    h *= delta
    if (Math.abs(delta - 1) < 1e-12) break
  }
  return h
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x)
  )
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(x, a, b)) / a
    : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b
}

/** x with I_x(a, b) = p, by bisection (monotone, 60 halvings: far below any rate shown). */
function inverseBeta(p: number, a: number, b: number): number {
  let lo = 0
  let hi = 1
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2
    if (incompleteBeta(mid, a, b) < p) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/**
 * Clopper-Pearson bounds of a proportion, each one-sided at 1 - alpha: exact, so a service at
 * the SLO is failed at most alpha of the time (Wilson's lower bound fails it more often when
 * errors are rare).
 */
export function clopperPearson(
  failures: number,
  total: number,
  alpha: number
): { low: number; high: number } {
  if (total <= 0) return { low: 0, high: 1 }
  const low = failures === 0 ? 0 : inverseBeta(alpha, failures, total - failures + 1)
  const high = failures === total ? 1 : inverseBeta(1 - alpha, failures + 1, total - failures)
  return { low, high }
}

/**
 * `looks`: how many times the same growing sample is judged. Each look uses alpha / looks
 * (Bonferroni), so stopping at the first decisive look keeps the overall error at most alpha.
 */
export function judgeRate(
  failures: number,
  total: number,
  maxRatePercent: number,
  confidence = 0.95,
  looks = 1
): RateJudgement {
  const alpha = (1 - confidence) / Math.max(1, looks)
  const max = maxRatePercent / 100
  const { low, high } = clopperPearson(failures, total, alpha)
  // Zero failures: the upper bound is 1 - alpha^(1/n), below max once n >= ln(alpha) / ln(1 - max).
  const neededAtZero = max > 0 ? Math.ceil(Math.log(alpha) / Math.log(1 - max)) : Infinity
  const verdict: IntervalVerdict =
    total > 0 && low > max ? 'fail' : total > 0 && high <= max ? 'pass' : 'inconclusive'
  return {
    verdict,
    failures,
    total,
    low,
    high,
    confidence: 1 - alpha,
    neededAtZero,
    maxRatePercent,
    looks: Math.max(1, looks),
    overallConfidence: confidence
  }
}

const pct = (v: number): string => `${(v * 100).toPrecision(2)}%`

/** `0 of 600 failed: error rate between 0% and 0.45% (95% bounds)`, for logs and messages. */
export function describeRate(j: RateJudgement): string {
  return `${j.failures} of ${j.total} failed: error rate between ${pct(j.low)} and ${pct(j.high)} (${(j.confidence * 100).toPrecision(3)}% one-sided bounds)`
}

/** `3,120` (whole) or `≈37.8` (an increase() estimate). */
export function countShown(n: number): string {
  if (Math.abs(n - Math.round(n)) < 1e-6) return Math.round(n).toLocaleString('en-US')
  return `≈${n.toFixed(1)}`
}

/** A bound as a percentage with 2 significant digits, never rounded to 0 unless it is 0. */
export function percentShown(fraction: number): string {
  if (fraction === 0) return '0 %'
  const v = fraction * 100
  return `${v >= 10 ? v.toFixed(1) : Number(v.toPrecision(2)).toString()} %`
}

function levelShown(j: RateJudgement): string {
  const overall = `${Number((j.overallConfidence * 100).toPrecision(3))} %`
  return j.looks > 1
    ? `at ${overall} (one-sided, Clopper-Pearson, ${Number((j.confidence * 100).toPrecision(4))} % per look over ${j.looks} looks)`
    : `at ${overall} (one-sided, Clopper-Pearson)`
}

/**
 * The sentence every verdict carries, in the log and the summary:
 * pass: `0 errors in 3,120 requests: error rate ≤ 0.096 % at 95 % (one-sided, Clopper-Pearson)`;
 * fail: `18 errors in 3,000 requests: error rate ≥ 0.38 % at 95 % (...), above the 0.1 % SLO`;
 * inconclusive: `inconclusive: 0 errors in 140 requests shows only ≤ 2.1 %; 2,995 requests with
 * no error would show ≤ 0.1 %`. `what` names the events (`errors`, `requests ≥ 500 ms`).
 */
export function describeBound(j: RateJudgement, what = 'errors', rateName = 'error rate'): string {
  const counts = `${countShown(j.failures)} ${what} in ${countShown(j.total)} requests`
  const slo = `${j.maxRatePercent} %`
  if (j.verdict === 'pass')
    return `${counts}: ${rateName} ≤ ${percentShown(j.high)} ${levelShown(j)}`
  if (j.verdict === 'fail') {
    return `${counts}: ${rateName} ≥ ${percentShown(j.low)} ${levelShown(j)}, above the ${slo} bound`
  }
  if (j.total <= 0) return `inconclusive: no requests to judge`
  const needed = Number.isFinite(j.neededAtZero)
    ? `; ${j.neededAtZero.toLocaleString('en-US')} requests with no ${what.replace(/s\b/, '')} would show ≤ ${slo}`
    : ''
  return j.failures === 0
    ? `inconclusive: ${counts} shows only ${rateName} ≤ ${percentShown(j.high)} ${levelShown(j)}${needed}`
    : `inconclusive: ${counts}: ${rateName} between ${percentShown(j.low)} and ${percentShown(j.high)} ${levelShown(j)}, the ${slo} bound is inside${needed}`
}

/**
 * The fewest failures among `total` requests that show the rate above the SLO (the lower
 * bound above it), or undefined when even all of them would not. The lower bound only grows
 * with the failures and shrinks with the requests, so a sample that reached this count before
 * `total` requests is already certain to fail its look at `total`: stopping it early changes
 * no verdict and spares users a failing slot.
 */
export function failuresThatFail(
  total: number,
  maxRatePercent: number,
  confidence = 0.95,
  looks = 1
): number | undefined {
  if (!(total >= 1)) return undefined
  const fails = (f: number): boolean =>
    judgeRate(f, total, maxRatePercent, confidence, looks).verdict === 'fail'
  if (!fails(total)) return undefined
  let lo = 0 // does not fail
  let hi = Math.round(total) // fails
  if (fails(0)) return 0
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (fails(mid)) hi = mid
    else lo = mid
  }
  return hi
}

/**
 * P(Binomial(n, p) <= k), through the incomplete beta: I_{1-p}(n - k, k + 1).
 */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0
  if (k >= n) return 1
  return incompleteBeta(1 - p, n - k, k + 1)
}

/**
 * Distribution-free upper confidence bound of a quantile from n sorted samples: the k-th
 * smallest sample with the smallest k such that P(Binomial(n, q) <= k - 1) >= confidence
 * (fewer than k samples lie at or below the true quantile, so X_(k) is above it). Undefined
 * when even the largest sample is not a bound at this confidence: with q = 0.95 at 95 % that
 * takes 59 samples, so fewer cannot say anything about a P95.
 */
export function quantileUpperBound(
  sorted: number[],
  q: number,
  confidence: number
): number | undefined {
  const n = sorted.length
  for (let k = Math.max(1, Math.ceil(q * n)); k <= n; k++) {
    if (binomialCdf(k - 1, n, q) >= confidence) return sorted[k - 1]
  }
  return undefined
}

/** Samples needed before any upper bound of the q-quantile exists: 1 - q^n >= confidence. */
export function samplesForQuantile(q: number, confidence: number): number {
  return Math.ceil(Math.log(1 - confidence) / Math.log(q))
}
