// The service side of the weekly review: the design's success figures for one period, judged
// from Prometheus counts. Pure: the numbers in, a verdict per figure out.

/** What Prometheus said for the period; undefined = no series (never read as zero). */
export interface ServiceCounts {
  /** Requests and 5xx responses over the period (increase(): Prometheus estimates). */
  requests?: number
  errors?: number
  /** P95 latency over the period from the histogram, seconds. */
  p95Seconds?: number
  /** Share of requests answered under the latency bound (from the bucket at the bound). */
  fastShare?: number
  /** Highest 5-minute request rate in the period, requests per second. */
  peakRps?: number
  periodSeconds: number
}

export interface ServiceGoals {
  /** Fractions: 0.999 means 99.9 %. */
  availability: number
  maxErrorRate: number
  p95Seconds: number
  minThroughputRps: number
}

/** `none`: nothing happened to judge (no rollback this week), which is neither met nor missing. */
export type Verdict = 'met' | 'missed' | 'no data' | 'none'

export interface Figure {
  name: string
  /** Shown as measured (already formatted). */
  value: string
  goal: string
  verdict: Verdict
  /** How it was measured, for the reader who doubts it. */
  basis: string
}

export interface ServiceReport {
  figures: Figure[]
  /** 1 = untouched, 0 = spent, below 0 = overspent; undefined without data. */
  budgetLeft?: number
  /** Error rate / allowed error rate over the period: 1 spends the budget exactly. */
  burnRate?: number
  availability?: number
  errorRate?: number
  requests?: number
  errors?: number
}

const pct = (x: number, digits = 3): string => `${(x * 100).toFixed(digits).replace(/\.?0+$/, '')}%`

/** Rounded counts as the decision uses them: the rate shown is computed from these integers. */
function wholeCounts(c: ServiceCounts): { requests: number; errors: number } | undefined {
  if (c.requests === undefined || !(c.requests >= 0.5)) return undefined
  return { requests: Math.round(c.requests), errors: Math.round(c.errors ?? 0) }
}

export function judgeService(counts: ServiceCounts, goals: ServiceGoals): ServiceReport {
  const whole = wholeCounts(counts)
  const figures: Figure[] = []
  const estimate = 'Prometheus increase() over the period, rounded to whole requests'
  let availability: number | undefined
  let errorRate: number | undefined
  let budgetLeft: number | undefined
  let burnRate: number | undefined
  if (whole) {
    errorRate = whole.errors / whole.requests
    availability = 1 - errorRate
    const allowed = 1 - goals.availability
    burnRate = allowed > 0 ? errorRate / allowed : undefined
    budgetLeft = burnRate === undefined ? undefined : 1 - burnRate
  }
  const counted = whole ? ` (${whole.errors} of ${whole.requests} requests failed)` : ''
  figures.push({
    name: 'Availability (requests not 5xx)',
    value: availability === undefined ? 'no requests seen' : `${pct(availability)}${counted}`,
    goal: `>= ${pct(goals.availability)}`,
    verdict:
      availability === undefined
        ? 'no data'
        : availability >= goals.availability
          ? 'met'
          : 'missed',
    basis: estimate
  })
  figures.push({
    name: 'Error rate (5xx / all)',
    value: errorRate === undefined ? 'no requests seen' : pct(errorRate),
    goal: `<= ${pct(goals.maxErrorRate)}`,
    verdict:
      errorRate === undefined ? 'no data' : errorRate <= goals.maxErrorRate ? 'met' : 'missed',
    basis: estimate
  })
  const p95 = counts.p95Seconds
  const fast = counts.fastShare
  figures.push({
    name: 'P95 latency',
    value:
      p95 === undefined || !Number.isFinite(p95)
        ? 'no histogram data'
        : `${Math.round(p95 * 1000)} ms${fast === undefined ? '' : ` (${pct(fast, 2)} under ${Math.round(goals.p95Seconds * 1000)} ms)`}`,
    goal: `< ${Math.round(goals.p95Seconds * 1000)} ms`,
    // The bucket share is exact where the bound is a bucket edge; the interpolated P95 is not.
    verdict:
      fast !== undefined
        ? fast >= 0.95
          ? 'met'
          : 'missed'
        : p95 === undefined || !Number.isFinite(p95)
          ? 'no data'
          : p95 < goals.p95Seconds
            ? 'met'
            : 'missed',
    basis:
      fast !== undefined
        ? 'share of requests in the histogram bucket at the bound (exact at a bucket edge)'
        : 'histogram_quantile(0.95) over the period (interpolated inside a bucket)'
  })
  const peak = counts.peakRps
  figures.push({
    name: 'Throughput (peak 5-minute rate)',
    value:
      peak === undefined
        ? 'no requests seen'
        : `${peak.toFixed(1)} req/s peak, ${whole ? (whole.requests / counts.periodSeconds).toFixed(1) : '0'} req/s mean`,
    goal: `>= ${goals.minThroughputRps} req/s`,
    verdict: peak === undefined ? 'no data' : peak >= goals.minThroughputRps ? 'met' : 'missed',
    basis:
      'served load, not capacity: a quiet week can miss this without a fault (load-test for capacity)'
  })
  return {
    figures,
    budgetLeft,
    burnRate,
    availability,
    errorRate,
    requests: whole?.requests,
    errors: whole?.errors
  }
}
