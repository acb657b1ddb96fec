import { readMetricQueries, readPrometheusHeaders } from '../release-inputs/metrics.js'
import { ConfigurationError } from '../../core/errors.js'
import { runOwner, type RunContext } from '../../core/run-context.js'
import type { Inputs } from '../../core/inputs.js'
import { log } from '../../core/log.js'
import type { CanaryOptions } from '../../release/canary.js'
import { parseExtraChecks } from '../../slo/queries.js'
import type { RouterConfig } from '../../traffic/config.js'
import { readRouterConfig } from '../release-inputs/router.js'
import type { BlueGreenOptions } from '../../release/bluegreen.js'
import type { PrometheusOptions } from '../../slo/prometheus-api.js'
import {
  readDeploymentRecord,
  readHealthGate,
  readHealthUrls,
  positiveDuration,
  readSlotPreparation,
  type SlotPreparation
} from '../release-inputs/common.js'
import type { DeploymentOptions } from '../../github/deployments.js'

export type CanaryMode = 'run' | 'abort' | 'promote' | 'status'

export interface CanaryInputs {
  mode: CanaryMode
  router: RouterConfig
  canary: CanaryOptions
  /** Checked once, in main.ts: plan and report, change nothing (no deployment record either). */
  dryRun: boolean
  prometheus?: PrometheusOptions & Required<Pick<PrometheusOptions, 'headers'>>
  /** The idle slot made ready as deploy-bluegreen does it (src/release/bluegreen.ts). */
  prepare: SlotPreparation & Pick<BlueGreenOptions, 'healthUrls' | 'health'>
  github?: Omit<DeploymentOptions, 'description'>
  /** `sequential`: src/release/canary-sequential.ts; `interval`: the fixed-interval judge. */
  analysis: 'sequential' | 'interval'
  sequential: { alpha: number; pollIntervalMs?: number }
}

/** `5,25,50,100`: ascending whole percentages from 1 to 100, ending at 100. */
export function parseSteps(raw: string): number[] {
  const accepted =
    'each step is a percentage from 1 to 100, ascending, ending at 100 (example: `5,25,50,100`)'
  const items = raw
    .split(/[,\s]+/)
    .filter(Boolean)
    .map((s) => s.replace(/%$/, ''))
  const steps = items.map(Number)
  const bad =
    steps.length === 0 ||
    steps.some(
      (s, i) => !Number.isInteger(s) || s < 1 || s > 100 || (i > 0 && s <= steps[i - 1])
    ) ||
    steps[steps.length - 1] !== 100
  if (bad) throw new ConfigurationError(`input \`steps\` = \`${raw}\`: ${accepted}`, 'steps')
  return steps
}

export function readCanaryInputs(inputs: Inputs, context: RunContext): CanaryInputs {
  const mode = inputs.enum('mode', ['run', 'abort', 'promote', 'status'] as const, 'run')
  const router = readRouterConfig(inputs)
  const steps = parseSteps(inputs.raw('steps') || '5,25,50,100')
  const stepDurationMs = inputs.duration('step-duration', '1m')
  const intervalMs = inputs.duration('analysis-interval', '30s')
  if (intervalMs < 1000) {
    throw new ConfigurationError(
      `input \`analysis-interval\` = \`${inputs.raw('analysis-interval')}\`: at least 1s (Prometheus windows are whole seconds)`,
      'analysis-interval'
    )
  }
  if (stepDurationMs < intervalMs) {
    throw new ConfigurationError(
      `input \`step-duration\` = \`${inputs.raw('step-duration')}\`: must be at least analysis-interval (${inputs.raw('analysis-interval') || '30s'}), or no analysis fits in a step`,
      'step-duration'
    )
  }
  const maxStepRaw = inputs.optional('max-step-duration')
  const maxStepDurationMs =
    maxStepRaw === undefined ? 5 * stepDurationMs : inputs.duration('max-step-duration')
  if (maxStepDurationMs < stepDurationMs || maxStepDurationMs > 24 * 3_600_000) {
    throw new ConfigurationError(
      `input \`max-step-duration\` = \`${maxStepRaw}\`: expected at least step-duration (${inputs.raw('step-duration') || '1m'}) and at most 24h (default 5 x step-duration)`,
      'max-step-duration'
    )
  }
  const token = inputs.optional('prometheus-token')
  log.secret(token)
  const prometheusUrl = inputs.optionalUrl('prometheus-url')
  if (mode === 'run' && !prometheusUrl) {
    throw new ConfigurationError(
      'input `prometheus-url` is required for mode `run`: every step is judged on Prometheus data',
      'prometheus-url'
    )
  }
  const slotLabel = inputs.optional('slot-label') ?? 'slot'
  const { queries, preset } = readMetricQueries(inputs)
  return {
    mode,
    router,
    prometheus: prometheusUrl
      ? {
          url: prometheusUrl.toString(),
          token,
          headers: readPrometheusHeaders(inputs),
          timeoutMs: positiveDuration(inputs, 'prometheus-timeout', '10s')
        }
      : undefined,
    canary: {
      steps,
      stepDurationMs,
      intervalMs,
      thresholds: {
        maxErrorRatePercent: inputs.percent('max-error-rate', '0.1%'),
        maxP95Ms: inputs.duration('max-p95-latency', '500ms'),
        minRequests: inputs.integer('min-requests', 1, 1_000_000_000, 50),
        maxErrorRateIncreasePoints: inputs.percent('max-error-rate-increase', '0.5%'),
        maxP95IncreasePercent: inputs.integer('max-p95-increase', 0, 10_000, 50),
        p95NoiseFloorMs: inputs.duration('p95-noise-floor', '50ms'),
        errorJudgement: inputs.enum('error-judgement', ['interval', 'point'] as const, 'interval'),
        confidence: 0.95
      },
      maxStepDurationMs,
      // A query or selector given as an input wins over the preset, the preset over the defaults.
      queries,
      canarySelector:
        inputs.optional('canary-selector') ??
        preset?.selector?.canary ??
        `${slotLabel}="{{canary}}"`,
      stableSelector:
        inputs.optional('stable-selector') ??
        preset?.selector?.stable ??
        `${slotLabel}="{{stable}}"`,
      extraChecks: parseExtraChecks(inputs.raw('extra-checks')),
      failureLimit: inputs.integer('failure-limit', 0, 100, 0),
      maxInconclusive: inputs.integer('max-inconclusive', 1, 100, 2),
      compareWithStable: inputs.boolean('compare-with-stable', true),
      owner: runOwner(context),
      lockTimeoutMs: router.lockTimeoutMs
    },
    dryRun: inputs.boolean('dry-run', false),
    prepare: {
      ...readSlotPreparation(inputs, router.kind),
      healthUrls: readHealthUrls(inputs),
      health: readHealthGate(inputs)
    },
    github: readDeploymentRecord(inputs),
    ...readAnalysis(inputs)
  }
}

/** analysis, alpha, poll-interval (issue 15). */
function readAnalysis(inputs: Inputs): Pick<CanaryInputs, 'analysis' | 'sequential'> {
  const analysis = inputs.enum('analysis', ['sequential', 'interval'] as const, 'interval')
  const alphaRaw = inputs.optional('alpha') ?? '0.01'
  const alpha = Number(alphaRaw)
  if (!/^0?\.\d+$/.test(alphaRaw) || !(alpha >= 0.0001 && alpha <= 0.2)) {
    throw new ConfigurationError(
      `input \`alpha\` = \`${alphaRaw}\`: expected a probability from 0.0001 to 0.2 (default 0.01: at most 1 good canary in 100 aborted)`,
      'alpha'
    )
  }
  const custom = ['request-count-query', 'error-rate-query', 'latency-query'].filter((n) =>
    inputs.has(n)
  )
  if (analysis === 'sequential' && custom.length > 0) {
    throw new ConfigurationError(
      `input \`analysis\` = \`sequential\` reads the counters http_requests_total and http_request_duration_seconds_bucket, not ${custom.map((n) => `\`${n}\``).join(', ')}; use analysis: interval with custom queries`,
      'analysis'
    )
  }
  const poll = inputs.optional('poll-interval')
  let pollIntervalMs: number | undefined
  if (poll !== undefined) {
    pollIntervalMs = inputs.duration('poll-interval')
    if (pollIntervalMs < 1000 || pollIntervalMs > 600_000) {
      throw new ConfigurationError(
        `input \`poll-interval\` = \`${poll}\`: expected 1s to 10m (default: the Prometheus scrape interval)`,
        'poll-interval'
      )
    }
  }
  return { analysis, sequential: { alpha, pollIntervalMs } }
}
