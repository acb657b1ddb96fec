import { parse as parseYaml } from 'yaml'
import { parseDurationMs } from '../core/duration.js'
import { ToolError } from '../core/errors.js'
import { log } from '../core/log.js'

export interface PrometheusOptions {
  url: string
  token?: string
  headers?: Record<string, string>
  timeoutMs: number
}

/**
 * The answer to one instant query, reduced to one number. `empty` (no series) and NaN are kept
 * apart from numbers so the judge can call them "no data" instead of a pass or a failure.
 */
export type QueryValue = { kind: 'value'; value: number } | { kind: 'empty' } | { kind: 'nan' }

interface ApiResponse {
  status: 'success' | 'error'
  errorType?: string
  error?: string
  warnings?: string[]
  data?: { resultType: string; result: unknown }
}

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
      const res = await fetch(this.endpoint('api/v1/status/config'), {
        headers: this.headers(),
        signal: AbortSignal.timeout(this.options.timeoutMs)
      })
      const body = (await res.json()) as { data?: { yaml?: string } }
      return body.data?.yaml ? longestScrapeInterval(body.data.yaml) : undefined
    } catch {
      return undefined
    }
  }

  private endpoint(path: string): URL {
    return new URL(path, this.options.url.endsWith('/') ? this.options.url : `${this.options.url}/`)
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = { ...this.options.headers }
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`
    return headers
  }

  /** Instant query. Throws ToolError when Prometheus is unreachable or answers with an error. */
  async query(promql: string): Promise<QueryValue> {
    const url = this.endpoint('api/v1/query')
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      ...this.options.headers
    }
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`
    let res: Response
    try {
      res = await fetch(url, {
        method: 'POST',
        headers,
        body: new URLSearchParams({ query: promql }),
        signal: AbortSignal.timeout(this.options.timeoutMs)
      })
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } }
      const why =
        e.name === 'TimeoutError'
          ? `no answer within ${this.options.timeoutMs} ms`
          : (e.cause?.code ?? e.message)
      throw new ToolError(`Prometheus at ${this.options.url} unreachable: ${why}`)
    }
    const text = await res.text()
    let body: ApiResponse
    try {
      body = JSON.parse(text) as ApiResponse
    } catch {
      throw new ToolError(
        `Prometheus answered HTTP ${res.status} with something that is not its API: ${text.slice(0, 200)}`
      )
    }
    if (body.status !== 'success' || !body.data) {
      throw new ToolError(
        `Prometheus rejected the query (${body.errorType ?? res.status}): ${body.error ?? text.slice(0, 200)}`
      )
    }
    // A partial answer (a store or shard missing) is not the data: never a pass.
    if (body.warnings?.length) {
      throw new ToolError(
        `Prometheus answered with warnings (a partial result): ${body.warnings.join('; ')}`
      )
    }
    return reduce(body.data.resultType, body.data.result)
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
