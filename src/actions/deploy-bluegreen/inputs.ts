import { ConfigurationError } from '../../core/errors.js'
import { runOwner, type RunContext } from '../../core/run-context.js'
import type { Inputs } from '../../core/inputs.js'
import type { DeploymentOptions } from '../../github/deployments.js'
import type { BlueGreenOptions } from '../../release/bluegreen.js'
import {
  readDeploymentRecord,
  readHealthGate,
  readHealthUrls,
  positiveDuration,
  readSlotPreparation
} from '../release-inputs/common.js'
import type { RouterConfig } from '../../traffic/config.js'
import { readRouterConfig } from '../release-inputs/router.js'
import { SLOTS, type Slot } from '../../traffic/slots.js'
import { log } from '../../core/log.js'
import type { TrafficVerifyOptions } from '../../release/traffic-verification.js'
import { readMetricQueries, readPrometheusHeaders } from '../release-inputs/metrics.js'

export interface DeployInputs {
  mode: 'deploy' | 'rollback' | 'status'
  router: RouterConfig
  release: BlueGreenOptions
  /** Checked once, in main.ts: plan and report, change nothing (no deployment record either). */
  dryRun: boolean
  github?: Omit<DeploymentOptions, 'description'>
}

/** An HTTP header name (RFC 9110 token). */
function slotHeader(inputs: Inputs): string | undefined {
  const value = inputs.optional('verify-slot-header')
  if (value !== undefined && !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(value)) {
    throw new ConfigurationError(
      `input \`verify-slot-header\` = \`${value}\`: expected an HTTP header name such as x-slot`,
      'verify-slot-header'
    )
  }
  return value?.toLowerCase()
}

export function readDeployInputs(inputs: Inputs, context: RunContext): DeployInputs {
  const mode = inputs.enum('mode', ['deploy', 'rollback', 'status'] as const, 'deploy')
  const router = readRouterConfig(inputs)
  const target = inputs.optionalEnum('target-slot', SLOTS)
  const healthUrls = readHealthUrls(inputs)
  if (mode === 'deploy') {
    for (const slot of target ? [target] : SLOTS) {
      if (!healthUrls[slot]) {
        throw new ConfigurationError(
          `input \`health-url-${slot}\` is required for mode \`deploy\`${target ? '' : ' (either slot may be the idle one)'}: ` +
            'the health gate probes the slot before it takes traffic',
          `health-url-${slot}`
        )
      }
    }
  }
  const verifyUrl = inputs.optionalUrl('verify-url')
  const dryRun = inputs.boolean('dry-run', false)
  const release: BlueGreenOptions = {
    mode: mode === 'status' ? 'deploy' : mode,
    target,
    autoRollback: inputs.boolean('auto-rollback', true),
    owner: runOwner(context),
    lockTimeoutMs: router.lockTimeoutMs,
    ...readSlotPreparation(inputs, router.kind),
    healthUrls,
    health: readHealthGate(inputs),
    healthOnRollback: inputs.boolean('health-check-on-rollback', true),
    hooks: {
      preSwitch: inputs.optionalCommand('pre-switch-command'),
      postSwitch: inputs.optionalCommand('post-switch-command')
    },
    verify: verifyUrl
      ? {
          url: verifyUrl.toString(),
          durationMs: positiveDuration(inputs, 'verify-duration', '30s'),
          ratePerSecond: inputs.integer('verify-rate', 1, 1000, 20),
          maxErrorRatePercent: inputs.percent('verify-max-error-rate', '0.1%'),
          maxP95Ms: inputs.duration('verify-max-p95', '500ms'),
          timeoutMs: positiveDuration(inputs, 'verify-request-timeout', '5s'),
          slotHeader: slotHeader(inputs),
          judgement: inputs.enum('error-judgement', ['interval', 'point'] as const, 'interval'),
          confidence: 0.95
        }
      : undefined
  }
  const prometheusUrl = inputs.optionalUrl('verify-prometheus-url')
  if (prometheusUrl && !release.verify) {
    throw new ConfigurationError(
      `input \`verify-prometheus-url\` = \`${inputs.raw('verify-prometheus-url')}\` needs \`verify-url\` as well: real traffic is judged alongside the probe, over the same verification window`,
      'verify-prometheus-url'
    )
  }
  if (release.verify && prometheusUrl)
    release.verify.traffic = readTraffic(inputs, prometheusUrl, router)
  if (release.verify) {
    const v = release.verify
    const raw = inputs.optional('verify-max-duration')
    v.maxDurationMs = raw === undefined ? 10 * v.durationMs : inputs.duration('verify-max-duration')
    if (v.maxDurationMs < v.durationMs || v.maxDurationMs > 3_600_000) {
      throw new ConfigurationError(
        `input \`verify-max-duration\` = \`${raw}\`: expected at least verify-duration (${inputs.raw('verify-duration') || '30s'}) and at most 1h (default 10 x verify-duration)`,
        'verify-max-duration'
      )
    }
  }
  return { mode, router, release, dryRun, github: readDeploymentRecord(inputs) }
}

/** verify-prometheus-url and the canary's query inputs: the new slot's real traffic. */
function readTraffic(inputs: Inputs, url: URL, router: RouterConfig): TrafficVerifyOptions {
  const token = inputs.optional('verify-prometheus-token')
  log.secret(token)
  const { queries, preset } = readMetricQueries(inputs)
  const errorsQuery = inputs.optional('error-rate-query')
  if (errorsQuery && /\bor\s+(on\s*\(\s*\)\s*)?vector\s*\(\s*0\s*\)/.test(errorsQuery)) {
    if (!/\band\s+on\s*\(/.test(errorsQuery)) {
      log.warning(
        `input \`error-rate-query\` ends no series with \`or vector(0)\`: a wrong label or selector then reads as 0 errors and passes; guard it with \`and on() (count(<metric>{ {{selector}}, <status label>=~".+" }) > 0)\` as the default query does`
      )
    }
  }
  const selector =
    inputs.optional('verify-selector') ??
    presetSelectorOfRouter(inputs.optional('metrics-preset')?.trim(), router) ??
    preset?.selector?.canary.replace(/\{\{\s*canary\s*\}\}/g, '{{slot}}') ??
    `${inputs.optional('slot-label') ?? 'slot'}="{{slot}}"`
  if (typeof selector === 'string' && !/\{\{\s*slot\s*\}\}/.test(selector)) {
    throw new ConfigurationError(
      `input \`verify-selector\` = \`${selector}\`: must contain {{slot}} (the slot judged), for example \`slot="{{slot}}"\``,
      'verify-selector'
    )
  }
  return {
    prometheus: {
      url: url.toString(),
      token,
      headers: readPrometheusHeaders(inputs),
      timeoutMs: positiveDuration(inputs, 'prometheus-timeout', '10s')
    },
    queries,
    selector,
    minRequests: inputs.integer('min-requests', 1, 1_000_000_000, 50)
  }
}

const quoted = (v: string): string => JSON.stringify(v)

/**
 * The preset's selector narrowed to what this router switches. The haproxy preset's
 * `server="{{slot}}"` matched a server named green in every backend of that HAProxy (another
 * app's clean traffic diluting this one's errors) and none when blue-server/green-server are
 * named otherwise; ingress-nginx's `service=~".+-{{slot}}"` matched every app's `-green`.
 */
function presetSelectorOfRouter(
  preset: string | undefined,
  router: RouterConfig
): Record<Slot, string> | string | undefined {
  if (preset === 'haproxy' && router.haproxy) {
    const { backend, servers } = router.haproxy
    const one = (slot: Slot): string => `proxy=${quoted(backend)}, server=${quoted(servers[slot])}`
    return { blue: one('blue'), green: one('green') }
  }
  if (preset === 'ingress-nginx' && router.kubernetes) {
    return `service="${router.kubernetes.app.replace(/["\\]/g, '')}-{{slot}}"`
  }
  return undefined
}
