import { ConfigurationError } from '../../core/errors.js'
import type { RunContext } from '../../core/run-context.js'
import type { Inputs } from '../../core/inputs.js'
import type { DeliveryGoals } from '../../slo-report/delivery.js'
import type { ServiceGoals } from '../../slo-report/figures.js'
import type { PeriodQuery } from '../../slo-report/prometheus-period.js'

/** The query's own fields as they are (PeriodQuery); the bound and the period come from goals. */
export interface ReportInputs extends Pick<
  PeriodQuery,
  'selector' | 'statusLabel' | 'requestsMetric' | 'latencyMetric' | 'end'
> {
  prometheus: Pick<PeriodQuery, 'url' | 'token' | 'timeoutMs'>
  periodMs: number
  service: ServiceGoals
  delivery: DeliveryGoals
  github?: {
    token: string
    owner: string
    repo: string
    environment: string
    maxDeployments: number
  }
  issue: boolean
  issueLabel: string
  serviceName: string
  failOnMiss: boolean
  dryRun: boolean
}

const MATCHER = String.raw`\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*`
const SELECTOR = new RegExp(`^(?:${MATCHER}(?:,${MATCHER})*)?$`)
const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/

function matching(
  inputs: Inputs,
  name: string,
  re: RegExp,
  accepted: string,
  fallback = ''
): string {
  const value = inputs.has(name) ? inputs.raw(name) : fallback
  if (!re.test(value))
    throw new ConfigurationError(`input \`${name}\` = \`${value}\`: ${accepted}`, name)
  return value
}

function readEnd(inputs: Inputs, now: Date): Date {
  const raw = inputs.raw('end')
  if (raw === '') return now
  const at = /(?:Z|[+-]\d\d:?\d\d)$/.test(raw) ? new Date(raw) : new Date(NaN)
  if (Number.isNaN(at.getTime()) || at > now)
    throw new ConfigurationError(
      `input \`end\` = \`${raw}\`: expected an ISO 8601 time with a zone, not in the future (example: 2026-11-30T00:00:00Z)`,
      'end'
    )
  return at
}

/** Every input validated before a query is sent. */
export function readReportInputs(
  inputs: Inputs,
  context: RunContext,
  now = new Date()
): ReportInputs {
  const periodMs = inputs.duration('period', '7d')
  if (periodMs < 60_000 || periodMs > 92 * 86_400_000)
    throw new ConfigurationError(
      `input \`period\` = \`${inputs.raw('period')}\`: expected a duration from 1m to 92d (example: 7d)`,
      'period'
    )
  const selector = matching(
    inputs,
    'selector',
    SELECTOR,
    'expected Prometheus label matchers without braces, such as job="api" or job="api",env=~"prod.*"',
    'job="app"'
  )
  const metric = (name: string, fallback: string): string =>
    matching(
      inputs,
      name,
      METRIC,
      'expected a Prometheus metric name such as http_requests_total',
      fallback
    )
  const token = inputs.optional('github-token')
  const issue = inputs.boolean('issue', false)
  if (issue && !token)
    throw new ConfigurationError(
      'input `github-token` is required when `issue` is true',
      'github-token'
    )
  const [owner, repo] = (context.repository ?? '').split('/')
  if (token && !(owner && repo))
    throw new ConfigurationError(
      'GITHUB_REPOSITORY (owner/name) is not set: the Deployments and the issue need the repository',
      'github-token'
    )
  return {
    prometheus: {
      url: inputs.url('prometheus-url').toString(),
      token: inputs.optional('prometheus-token'),
      timeoutMs: inputs.duration('prometheus-timeout', '30s')
    },
    selector,
    statusLabel: matching(
      inputs,
      'status-label',
      LABEL,
      'expected a label name such as status or code',
      'status'
    ),
    requestsMetric: metric('requests-metric', 'http_requests_total'),
    latencyMetric: metric('latency-metric', 'http_request_duration_seconds'),
    periodMs,
    end: readEnd(inputs, now),
    service: {
      availability: inputs.percent('availability-goal', '99.9') / 100,
      maxErrorRate: inputs.percent('error-rate-goal', '0.1') / 100,
      p95Seconds: inputs.duration('p95-goal', '500ms') / 1000,
      minThroughputRps: inputs.integer('throughput-goal', 0, 10_000_000, 100)
    },
    delivery: {
      maxDeployMs: inputs.duration('deploy-time-goal', '10m'),
      minSuccessRate: inputs.percent('deploy-success-goal', '95') / 100,
      maxRollbackMs: inputs.duration('rollback-time-goal', '5m'),
      maxRestoreMs: inputs.duration('restore-time-goal', '30m')
    },
    github: token
      ? {
          token,
          owner,
          repo,
          environment: inputs.raw('environment') || 'production',
          maxDeployments: inputs.integer('max-deployments', 1, 5000, 500)
        }
      : undefined,
    issue,
    issueLabel: inputs.raw('issue-label') || 'slo-review',
    serviceName: inputs.raw('service') || repo || 'service',
    failOnMiss: inputs.boolean('fail-on-miss', false),
    dryRun: inputs.boolean('dry-run', false)
  }
}
