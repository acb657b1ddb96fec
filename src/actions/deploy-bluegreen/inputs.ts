import { hostname } from 'node:os'
import { ConfigurationError } from '../../core/errors.js'
import type { Inputs } from '../../core/inputs.js'
import { log } from '../../core/log.js'
import type { BlueGreenOptions } from '../../release/bluegreen.js'
import { readRouterConfig, type RouterConfig } from '../../traffic/config.js'
import { SLOTS, type Slot } from '../../traffic/slots.js'

export interface DeployInputs {
  mode: 'deploy' | 'rollback' | 'status'
  router: RouterConfig
  release: BlueGreenOptions
  github?: { token: string; environment: string; environmentUrl?: string }
}

/** Who holds the router lock, in words a person can act on. */
export function runOwner(): string {
  const { GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run, GITHUB_WORKFLOW: wf } = process.env
  return repo
    ? `${repo} run ${run} (${wf}) on ${hostname()}`
    : `ops-actions CLI pid ${process.pid} on ${hostname()}`
}

export function readDeployInputs(inputs: Inputs): DeployInputs {
  const mode = inputs.enum('mode', ['deploy', 'rollback', 'status'] as const, 'deploy')
  const router = readRouterConfig(inputs)
  const target = inputs.optionalEnum('target-slot', SLOTS)
  const healthUrls: Partial<Record<Slot, string>> = {}
  for (const slot of SLOTS) {
    const url = inputs.optionalUrl(`health-url-${slot}`)
    if (url) healthUrls[slot] = url.toString()
  }
  if (mode === 'deploy') {
    const needed = target ? [target] : SLOTS
    for (const slot of needed) {
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
  const deployCommand = inputs.optionalCommand('deploy-command')
  const image = inputs.optional('image')
  if (image && router.kind !== 'kubernetes') {
    throw new ConfigurationError(
      `input \`image\` = \`${image}\`: only applies to router \`kubernetes\`; use deploy-command for VMs`,
      'image'
    )
  }
  const release: BlueGreenOptions = {
    mode: mode === 'status' ? 'deploy' : mode,
    target,
    dryRun: inputs.boolean('dry-run', false),
    autoRollback: inputs.boolean('auto-rollback', true),
    owner: runOwner(),
    lockTimeoutMs: router.lockTimeoutMs,
    deployCommand,
    image,
    rolloutTimeoutMs: inputs.duration('rollout-timeout', '5m'),
    healthUrls,
    health: {
      consecutive: inputs.integer('health-checks', 1, 100, 3),
      intervalMs: inputs.duration('health-interval', '2s'),
      timeoutMs: inputs.duration('health-timeout', '2m'),
      requestTimeoutMs: inputs.duration('health-request-timeout', '2s')
    },
    healthOnRollback: inputs.boolean('health-check-on-rollback', false),
    verify: verifyUrl
      ? {
          url: verifyUrl.toString(),
          durationMs: inputs.duration('verify-duration', '30s'),
          ratePerSecond: inputs.integer('verify-rate', 1, 1000, 20),
          maxErrorRatePercent: inputs.percent('verify-max-error-rate', '0.1%'),
          maxP95Ms: inputs.duration('verify-max-p95', '500ms'),
          timeoutMs: inputs.duration('verify-request-timeout', '5s')
        }
      : undefined
  }
  if (release.health.intervalMs <= 0) {
    throw new ConfigurationError(
      `input \`health-interval\` = \`${inputs.raw('health-interval')}\`: must be more than 0`,
      'health-interval'
    )
  }
  const token = inputs.optional('github-token')
  log.secret(token)
  const environment = inputs.optional('environment')
  // Validated as a URL, kept as written (URL normalisation would add a trailing slash).
  const environmentUrl = inputs.optionalUrl('environment-url')
    ? inputs.raw('environment-url')
    : undefined
  return {
    mode,
    router,
    release,
    github: token && environment ? { token, environment, environmentUrl } : undefined
  }
}
