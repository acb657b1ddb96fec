import type { Inputs } from '../../core/inputs.js'
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
