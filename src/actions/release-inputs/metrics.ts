import { ConfigurationError } from '../../core/errors.js'
import type { Inputs } from '../../core/inputs.js'
import { log } from '../../core/log.js'
import { metricsPreset, type MetricsPreset } from '../../slo/presets.js'
import { DEFAULT_QUERIES, type QueryTemplates } from '../../slo/queries.js'

/**
 * metrics-preset, request-count-query, error-rate-query, latency-query: the PromQL both release
 * actions judge traffic with. A query given as an input wins over the preset, the preset over
 * the defaults.
 */
export function readMetricQueries(inputs: Inputs): {
  queries: QueryTemplates
  preset?: MetricsPreset
} {
  const preset = metricsPreset(inputs.optional('metrics-preset'))
  return {
    preset,
    queries: {
      requests:
        inputs.optional('request-count-query') ??
        preset?.queries.requests ??
        DEFAULT_QUERIES.requests,
      errors:
        inputs.optional('error-rate-query') ?? preset?.queries.errors ?? DEFAULT_QUERIES.errors,
      p95: inputs.optional('latency-query') ?? preset?.queries.p95 ?? DEFAULT_QUERIES.p95
    }
  }
}

/** prometheus-headers: `Name: value` lines, the values masked in the log. */
export function readPrometheusHeaders(inputs: Inputs): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const line of inputs.lines('prometheus-headers')) {
    const m = /^([A-Za-z0-9-]+)\s*:\s*(.+)$/.exec(line)
    if (!m)
      throw new ConfigurationError(
        'input `prometheus-headers` (values hidden): expected `Name: value` lines',
        'prometheus-headers'
      )
    headers[m[1].toLowerCase()] = m[2]
    log.secret(m[2])
  }
  return headers
}
