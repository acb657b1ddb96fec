import { ConfigurationError } from '../core/errors.js'
import { DEFAULT_QUERIES, errorsBy, type QueryTemplates } from './queries.js'

/**
 * The canary's PromQL for the metric names and labels real exporters use (input
 * `metrics-preset`). Each is tested on a real Prometheus scraping series shaped exactly like
 * that exporter's (test/canary/presets.e2e.test.ts). `selector` is how one slot's series are
 * picked when the user gives no canary-selector / stable-selector; undefined keeps the default
 * (`<slot-label>="{{canary}}"`, a label the scrape config puts on each slot's targets).
 */
export interface MetricsPreset {
  description: string
  queries: QueryTemplates
  selector?: { canary: string; stable: string }
}

export const METRICS_PRESETS: Record<string, MetricsPreset> = {
  // FastAPI: http_requests_total{handler,method,status="2xx"|"5xx"} and the label-free
  // high-resolution histogram http_request_duration_highr_seconds (more buckets for P95).
  'fastapi-instrumentator': {
    description: 'prometheus-fastapi-instrumentator defaults (status grouped as 2xx/5xx)',
    queries: {
      requests: DEFAULT_QUERIES.requests,
      errors: errorsBy('status'),
      p95: 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_highr_seconds_bucket{ {{selector}} }[{{interval}}])))'
    }
  },
  // Python prometheus_client / Node prom-client with the conventional names of their docs:
  // a counter http_requests_total{code} and a histogram http_request_duration_seconds.
  'prometheus-client': {
    description:
      'Python prometheus_client or Node prom-client: http_requests_total{code}, http_request_duration_seconds',
    queries: {
      requests: DEFAULT_QUERIES.requests,
      errors: errorsBy('code'),
      p95: DEFAULT_QUERIES.p95
    }
  },
  // Node express-prom-bundle (on prom-client): one histogram, the status in status_code.
  'express-prom-bundle': {
    description:
      'Node express-prom-bundle: http_request_duration_seconds{status_code} (count from the histogram)',
    queries: {
      requests: 'sum(increase(http_request_duration_seconds_count{ {{selector}} }[{{interval}}]))',
      errors: errorsBy('status_code', 'http_request_duration_seconds_count'),
      p95: DEFAULT_QUERIES.p95
    }
  },
  // HAProxy's built-in exporter: per server, code="1xx".."5xx"|"other". It has no latency
  // histogram: the latency check judges its average over the last 1024 responses, not a P95.
  haproxy: {
    description:
      "HAProxy's built-in Prometheus exporter: haproxy_server_http_responses_total{proxy,server,code}; latency is the server's average response time (no histogram)",
    queries: {
      requests: 'sum(increase(haproxy_server_http_responses_total{ {{selector}} }[{{interval}}]))',
      errors: errorsBy('code', 'haproxy_server_http_responses_total'),
      p95: 'max(haproxy_server_response_time_average_seconds{ {{selector}} })'
    },
    selector: { canary: 'server="{{canary}}"', stable: 'server="{{stable}}"' }
  },
  // ingress-nginx: per backend Service (<app>-blue / <app>-green), numeric status.
  'ingress-nginx': {
    description:
      'ingress-nginx controller: nginx_ingress_controller_requests{service,status}, nginx_ingress_controller_request_duration_seconds',
    queries: {
      requests: 'sum(increase(nginx_ingress_controller_requests{ {{selector}} }[{{interval}}]))',
      errors: errorsBy('status', 'nginx_ingress_controller_requests'),
      p95: 'histogram_quantile(0.95, sum by (le) (rate(nginx_ingress_controller_request_duration_seconds_bucket{ {{selector}} }[{{interval}}])))'
    },
    selector: { canary: 'service=~".+-{{canary}}"', stable: 'service=~".+-{{stable}}"' }
  }
}

/** Input `metrics-preset`: a name from METRICS_PRESETS, or undefined for the defaults. */
export function metricsPreset(raw: string | undefined): MetricsPreset | undefined {
  if (raw === undefined || raw.trim() === '') return undefined
  const preset = METRICS_PRESETS[raw.trim()]
  if (!preset) {
    throw new ConfigurationError(
      `input \`metrics-preset\` = \`${raw}\`: expected one of ${Object.keys(METRICS_PRESETS)
        .map((n) => `\`${n}\``)
        .join(', ')}`,
      'metrics-preset'
    )
  }
  return preset
}
