import { parse as parseYaml } from 'yaml'
import { parseDurationMs } from '../core/duration.js'
import { ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import { callPrometheus, callPrometheusWhole, type PrometheusOptions } from './prometheus-api.js'

export type { PrometheusOptions } from './prometheus-api.js'

/**
 * The answer to one instant query, reduced to one number. `empty` (no series) and NaN are kept
 * apart from numbers so the judge can call them "no data" instead of a pass or a failure.
 */
export type QueryValue = { kind: 'value'; value: number } | { kind: 'empty' } | { kind: 'nan' }

export class PrometheusClient {
  constructor(private readonly options: PrometheusOptions) {
    log.secret(options.token)
    for (const v of Object.values(options.headers ?? {})) log.secret(v)
  }

  /**
   * The longest scrape interval in Prometheus' loaded configuration (global and per job), or
   * undefined when the server does not expose it (some managed services do not).
   */
  async scrapeIntervalMs(): Promise<number | undefined> {
    try {
      const data = (await callPrometheus(this.options, 'api/v1/status/config')).data as {
        yaml?: string
      }
      return data?.yaml ? longestScrapeInterval(data.yaml) : undefined
    } catch {
      return undefined
    }
  }

  /** Instant query. Throws ToolError when Prometheus is unreachable or answers with an error. */
  async query(promql: string): Promise<QueryValue> {
    const data = (await callPrometheusWhole(this.options, 'api/v1/query', { query: promql })) as {
      resultType: string
      result: unknown
    }
    return reduce(data.resultType, data.result)
  }
}

/** Pure: the longest `scrape_interval` in a Prometheus configuration (default 1m). */
export function longestScrapeInterval(yaml: string): number | undefined {
  let config: {
    global?: { scrape_interval?: string }
    scrape_configs?: { scrape_interval?: string }[]
  }
  try {
    config = parseYaml(yaml) as typeof config
  } catch {
    return undefined
  }
  const global = parseDurationMs(config?.global?.scrape_interval ?? '1m')
  const jobs = (config?.scrape_configs ?? []).map((j) =>
    j.scrape_interval ? parseDurationMs(j.scrape_interval) : global
  )
  const all = [global, ...jobs].filter((v): v is number => typeof v === 'number')
  return all.length ? Math.max(...all) : undefined
}

/** A scalar, or a vector of exactly one sample; several series are an error in the query. */
export function reduce(resultType: string, result: unknown): QueryValue {
  let raw: string | undefined
  if (resultType === 'scalar') raw = (result as [number, string])[1]
  else if (resultType === 'vector') {
    const series = result as { value: [number, string] }[]
    if (series.length === 0) return { kind: 'empty' }
    if (series.length > 1) {
      throw new ToolError(
        `the query returned ${series.length} series; aggregate it to one (for example with sum())`
      )
    }
    raw = series[0].value[1]
  } else
    throw new ToolError(`the query returned a ${resultType}; an instant vector or scalar is needed`)
  // Prometheus writes infinities as +Inf / -Inf (Number() reads those as NaN): a P95 in the +Inf
  // bucket is slower than every bound, not "no data"; an infinite count is judged no data later.
  const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw)
  if (Number.isNaN(value)) return { kind: 'nan' }
  return { kind: 'value', value }
}
