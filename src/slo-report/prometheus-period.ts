// Reads one period's counts and per-step series from Prometheus for the weekly review. Every
// query is evaluated at the period's end with a range of the period's length, so the report is
// the same whenever it is re-run for that period.
import { ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import { callPrometheus, type PrometheusOptions } from '../slo/prometheus-api.js'
import type { Point } from './chart.js'
import type { ServiceCounts } from './figures.js'

export interface PeriodQuery extends Pick<PrometheusOptions, 'url' | 'token' | 'timeoutMs'> {
  /** Label matchers without braces, e.g. `job="api"`; '' for every series. */
  selector: string
  statusLabel: string
  requestsMetric: string
  latencyMetric: string
  /** The latency bound, seconds: the bucket `le` at it gives the exact share under it. */
  latencyBoundSeconds: number
  end: Date
  periodSeconds: number
}

interface Result {
  resultType: string
  result: { value?: [number, string]; values?: [number, string][] }[]
}

export interface PeriodData {
  counts: ServiceCounts
  errorRate: Point[]
  p95Seconds: Point[]
  /** Prometheus warnings (partial answers): the figures may be short. */
  warnings: string[]
}

const join = (...parts: string[]): string => parts.filter(Boolean).join(', ')

/** One bucket of the charts: a dozen points over the period, at least one second each. */
export function chartStepSeconds(periodSeconds: number): number {
  return Math.max(1, Math.round(periodSeconds / 12))
}

/** Steps of the peak-rate subquery: about 2,000 over the period, from 15 s to 5 min. */
export function peakResolutionSeconds(periodSeconds: number): number {
  return Math.min(300, Math.max(15, Math.round(periodSeconds / 2000)))
}

/** The PromQL of every figure, built from validated names only. */
export function periodQueries(q: PeriodQuery): Record<string, string> {
  const m = q.requestsMetric
  const l = q.latencyMetric
  const p = `${q.periodSeconds}s`
  const sel = q.selector
  const errors = join(sel, `${q.statusLabel}=~"5.."`)
  const le = String(q.latencyBoundSeconds)
  const step = `${chartStepSeconds(q.periodSeconds)}s`
  return {
    requests: `sum(increase(${m}{${sel}}[${p}]))`,
    errors: `sum(increase(${m}{${errors}}[${p}]))`,
    labelled: `count(${m}{${join(sel, `${q.statusLabel}!=""`)}})`,
    p95: `histogram_quantile(0.95, sum by (le) (increase(${l}_bucket{${sel}}[${p}])))`,
    fast: `sum(increase(${l}_bucket{${join(sel, `le="${le}"`)}}[${p}])) / sum(increase(${l}_count{${sel}}[${p}]))`,
    peak: `max_over_time(sum(rate(${m}{${sel}}[5m]))[${p}:${peakResolutionSeconds(q.periodSeconds)}s])`,
    // The subquery's steps are aligned to its resolution: the rate at the period's end is read
    // too, so traffic in the last few minutes is never missed.
    rateAtEnd: `sum(rate(${m}{${sel}}[5m]))`,
    errorRateSeries: `(sum(increase(${m}{${errors}}[${step}])) or sum(increase(${m}{${sel}}[${step}])) * 0) / sum(increase(${m}{${sel}}[${step}]))`,
    p95Series: `histogram_quantile(0.95, sum by (le) (increase(${l}_bucket{${sel}}[${step}])))`
  }
}

function single(data: Result): number | undefined {
  const result = data.result ?? []
  if (result.length === 0) return undefined
  const v = Number(result[0].value?.[1])
  return Number.isNaN(v) ? undefined : v
}

function series(data: Result): Point[] {
  const values = data.result?.[0]?.values ?? []
  return values.map(([t, v]) => ({ at: new Date(t * 1000), value: Number(v) }))
}

function highest(...values: (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined)
  return known.length ? Math.max(...known) : undefined
}

export async function readPeriod(q: PeriodQuery): Promise<PeriodData> {
  log.secret(q.token)
  const queries = periodQueries(q)
  const time = String(q.end.getTime() / 1000)
  const warnings: string[] = []
  const instant = async (query: string): Promise<number | undefined> => {
    const answer = await callPrometheus(q, 'api/v1/query', { query, time })
    warnings.push(...answer.warnings)
    return single(answer.data as Result)
  }
  const range = async (query: string): Promise<Point[]> => {
    const step = chartStepSeconds(q.periodSeconds)
    const answer = await callPrometheus(q, 'api/v1/query_range', {
      query,
      start: String(q.end.getTime() / 1000 - q.periodSeconds + step),
      end: time,
      step: String(step)
    })
    warnings.push(...answer.warnings)
    return series(answer.data as Result)
  }
  const requests = await instant(queries.requests)
  const labelled = await instant(queries.labelled)
  // No series with the status label: 5xx cannot be counted, so "0 errors" would be a lie.
  if (requests !== undefined && requests > 0 && !(labelled && labelled > 0)) {
    throw new ToolError(
      `no series of ${q.requestsMetric}{${q.selector}} has the label \`${q.statusLabel}\`: errors cannot be counted; set status-label to the label that holds the HTTP status (often \`code\`)`
    )
  }
  const errors = requests === undefined ? undefined : ((await instant(queries.errors)) ?? 0)
  return {
    counts: {
      requests,
      errors,
      p95Seconds: await instant(queries.p95),
      fastShare: await instant(queries.fast),
      peakRps: highest(await instant(queries.peak), await instant(queries.rateAtEnd)),
      periodSeconds: q.periodSeconds
    },
    errorRate: await range(queries.errorRateSeries),
    p95Seconds: await range(queries.p95Series),
    warnings: [...new Set(warnings)]
  }
}
