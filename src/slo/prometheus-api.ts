import { ToolError } from '../core/errors.js'

/** Where Prometheus is and how to reach it (shared by the canary, its analysis and slo-report). */
export interface PrometheusOptions {
  url: string
  token?: string
  headers?: Record<string, string>
  timeoutMs: number
}

export interface ApiAnswer {
  data: unknown
  /** Prometheus warnings (a partial answer: Thanos or federation with a store down). */
  warnings: string[]
}

/**
 * One call of Prometheus's HTTP API: the one place that builds the request (token, headers,
 * timeout) and tells "unreachable", "not its API" and "rejected" apart. `params` are POSTed as
 * a form (long PromQL stays out of the URL) unless `method` is GET (status endpoints).
 * Warnings are returned, not judged: a caller that needs the whole answer refuses them.
 */
export async function callPrometheus(
  o: PrometheusOptions,
  path: string,
  params?: Record<string, string>,
  method: 'GET' | 'POST' = params ? 'POST' : 'GET'
): Promise<ApiAnswer> {
  const url = new URL(path, o.url.endsWith('/') ? o.url : `${o.url}/`)
  const headers: Record<string, string> = { ...o.headers }
  const form = method === 'POST' && params ? new URLSearchParams(params) : undefined
  if (form) headers['content-type'] = 'application/x-www-form-urlencoded'
  else for (const [k, v] of Object.entries(params ?? {})) url.searchParams.set(k, v)
  if (o.token) headers.authorization = `Bearer ${o.token}`
  let res: Response
  try {
    res = await fetch(url, {
      method,
      headers,
      body: form,
      signal: AbortSignal.timeout(o.timeoutMs)
    })
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } }
    const why =
      e.name === 'TimeoutError'
        ? `no answer within ${o.timeoutMs} ms`
        : (e.cause?.code ?? e.message)
    throw new ToolError(`Prometheus at ${o.url} unreachable: ${why}`)
  }
  const text = await res.text()
  let body: {
    status?: string
    errorType?: string
    error?: string
    warnings?: unknown
    data?: unknown
  }
  try {
    body = JSON.parse(text) as typeof body
  } catch {
    throw new ToolError(
      `Prometheus answered HTTP ${res.status} with something that is not its API: ${text.slice(0, 200)}`
    )
  }
  if (body?.status !== 'success' || body.data === undefined) {
    const what = params?.query ? `the query \`${params.query.slice(0, 200)}\`` : path
    throw new ToolError(
      `Prometheus rejected ${what} (${body?.errorType ?? `HTTP ${res.status}`}): ${body?.error ?? text.slice(0, 200)}`
    )
  }
  const warnings = Array.isArray(body.warnings) ? body.warnings.map(String) : []
  return { data: body.data, warnings }
}

/** The answer's data, refusing a partial one: missing series must never read as a pass. */
export async function callPrometheusWhole(
  o: PrometheusOptions,
  path: string,
  params?: Record<string, string>,
  method?: 'GET' | 'POST'
): Promise<unknown> {
  const { data, warnings } = await callPrometheus(o, path, params, method)
  if (warnings.length) {
    throw new ToolError(
      `Prometheus answered with warnings (a partial result): ${warnings.join('; ').slice(0, 300)}`
    )
  }
  return data
}
