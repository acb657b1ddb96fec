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
  data?: { resultType: string; result: unknown }
}

export class PrometheusClient {
  constructor(private readonly options: PrometheusOptions) {
    log.secret(options.token)
    for (const v of Object.values(options.headers ?? {})) log.secret(v)
  }

  /** Instant query. Throws ToolError when Prometheus is unreachable or answers with an error. */
  async query(promql: string): Promise<QueryValue> {
    const url = new URL(
      'api/v1/query',
      this.options.url.endsWith('/') ? this.options.url : `${this.options.url}/`
    )
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
    return reduce(body.data.resultType, body.data.result)
  }
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
  const value = Number(raw)
  if (Number.isNaN(value)) return { kind: 'nan' }
  return { kind: 'value', value }
}
