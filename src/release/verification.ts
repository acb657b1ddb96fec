import type { SampleResult } from '../probe/sampler.js'
import {
  describeBound,
  judgeRate,
  percentShown,
  quantileUpperBound,
  samplesForQuantile,
  type IntervalVerdict,
  type RateJudgement
} from '../slo/interval.js'
import type { ErrorJudgement } from '../slo/judge.js'

/** What a post-switch sample shows, with the bound behind each verdict. */
export interface VerificationVerdict {
  verdict: IntervalVerdict
  errors: { verdict: IntervalVerdict; shown: string; judgement?: RateJudgement }
  p95: { verdict: IntervalVerdict; shown: string; upperBoundMs?: number }
  /** Why it is not a pass (for the error message), undefined on a pass. */
  why?: string
}

export interface VerificationRule {
  maxErrorRatePercent: number
  maxP95Ms: number
  judgement: ErrorJudgement
  confidence: number
}

const worst = (a: IntervalVerdict, b: IntervalVerdict): IntervalVerdict =>
  a === 'fail' || b === 'fail'
    ? 'fail'
    : a === 'inconclusive' || b === 'inconclusive'
      ? 'inconclusive'
      : 'pass'

/**
 * Pure: the verdict of a post-switch sample at one of `looks` looks.
 * interval: errors by the Clopper-Pearson bounds of the error rate; the P95 by the share of
 * requests at or above max-p95 (P95 < bound is the same as "fewer than 5 % are that slow"),
 * whose upper bound must be at most 5 % (the order-statistic upper bound of the true P95 is
 * shown beside it; fewer than 59 samples at 95 % cannot bound a P95 at all).
 * point: the observed rate and nearest-rank P95 against the bounds, as before (weaker: said so).
 */
export function judgeVerification(
  r: SampleResult,
  rule: VerificationRule,
  looks = 1
): VerificationVerdict {
  if (r.total === 0) {
    const shown = 'no request could be judged'
    return {
      verdict: 'inconclusive',
      errors: { verdict: 'inconclusive', shown },
      p95: { verdict: 'inconclusive', shown },
      why: `inconclusive: ${shown}`
    }
  }
  if (rule.judgement === 'point') {
    const eOk = r.errorRatePercent <= rule.maxErrorRatePercent
    const pOk = r.p95Ms < rule.maxP95Ms
    const errors = {
      verdict: (eOk ? 'pass' : 'fail') as IntervalVerdict,
      shown: `${r.errorRatePercent.toFixed(3)}% (${r.failed}/${r.total}), point estimate: no bound stated (error-judgement point)`
    }
    const p95 = {
      verdict: (pOk ? 'pass' : 'fail') as IntervalVerdict,
      shown: `${Math.round(r.p95Ms)} ms (nearest rank of ${r.total}), point estimate`
    }
    const problems = [
      eOk
        ? ''
        : `error rate ${r.errorRatePercent.toFixed(2)}% (${r.failed}/${r.total}) > ${rule.maxErrorRatePercent}%`,
      pOk ? '' : `p95 ${Math.round(r.p95Ms)} ms >= ${rule.maxP95Ms} ms`
    ].filter(Boolean)
    return {
      verdict: worst(errors.verdict, p95.verdict),
      errors,
      p95,
      why: problems.length ? problems.join('; ') : undefined
    }
  }
  const j = judgeRate(r.failed, r.total, rule.maxErrorRatePercent, rule.confidence, looks)
  const errors = { verdict: j.verdict, shown: describeBound(j), judgement: j }
  const slow = r.latenciesMs.filter((ms) => ms >= rule.maxP95Ms).length
  const perLook = 1 - (1 - rule.confidence) / Math.max(1, looks)
  const upper = quantileUpperBound(r.latenciesMs, 0.95, perLook)
  const sj = judgeRate(slow, r.total, 5, rule.confidence, looks)
  const bound =
    upper === undefined
      ? `no bound: ${r.total} requests, a P95 bound needs ${samplesForQuantile(0.95, perLook)}`
      : `true P95 ≤ ${Math.round(upper)} ms (order statistic)`
  const p95 = {
    verdict: upper === undefined ? ('inconclusive' as IntervalVerdict) : sj.verdict,
    upperBoundMs: upper,
    shown: `${Math.round(r.p95Ms)} ms observed; ${bound}; ${describeBound(sj, `requests ≥ ${rule.maxP95Ms} ms`, 'slow share')}`
  }
  const verdict = worst(errors.verdict, p95.verdict)
  const problems = [
    errors.verdict === 'pass' ? '' : errors.shown,
    p95.verdict === 'pass' ? '' : `p95: ${p95.shown}`
  ].filter(Boolean)
  return {
    verdict,
    errors,
    p95,
    why: verdict === 'pass' ? undefined : problems.join('; ')
  }
}

/** Upper bound of the error rate (percent), for the `error-rate-upper-bound` output. */
export function upperBoundShown(v: VerificationVerdict): string {
  const j = v.errors.judgement
  return j ? percentShown(j.high).replace(' %', '') : ''
}
