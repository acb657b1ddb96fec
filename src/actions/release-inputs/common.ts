import { ConfigurationError } from '../../core/errors.js'
import type { Inputs } from '../../core/inputs.js'
import { log } from '../../core/log.js'
import type { HealthGateOptions } from '../../probe/http.js'
import type { BlueGreenOptions } from '../../release/bluegreen.js'
import type { RouterKind } from '../../traffic/config.js'
import { SLOTS, type Slot } from '../../traffic/slots.js'
import type { DeploymentOptions } from '../../github/deployments.js'

/* Inputs that deploy-bluegreen and canary-promote share beyond the router's own. */

export function readHealthUrls(inputs: Inputs): Partial<Record<Slot, string>> {
  const urls: Partial<Record<Slot, string>> = {}
  for (const slot of SLOTS) {
    const url = inputs.optionalUrl(`health-url-${slot}`)
    if (url) urls[slot] = url.toString()
  }
  return urls
}

/** A duration that must be more than 0 (a 0 timeout fails every request, a 0 interval spins). */
export function positiveDuration(inputs: Inputs, name: string, fallback: string): number {
  const ms = inputs.duration(name, fallback)
  if (ms <= 0) {
    throw new ConfigurationError(
      `input \`${name}\` = \`${inputs.raw(name)}\`: must be more than 0 (for example ${fallback})`,
      name
    )
  }
  return ms
}

export function readHealthGate(inputs: Inputs): HealthGateOptions {
  const gate = {
    consecutive: inputs.integer('health-checks', 1, 100, 3),
    intervalMs: positiveDuration(inputs, 'health-interval', '2s'),
    timeoutMs: positiveDuration(inputs, 'health-timeout', '2m'),
    requestTimeoutMs: positiveDuration(inputs, 'health-request-timeout', '2s')
  }
  // N successes in a row need (N - 1) intervals at least: a shorter timeout can never pass.
  const needed = (gate.consecutive - 1) * gate.intervalMs
  if (gate.timeoutMs < needed) {
    throw new ConfigurationError(
      `input \`health-timeout\` = \`${inputs.raw('health-timeout') || '2m'}\`: shorter than health-checks x health-interval ` +
        `(${gate.consecutive} checks ${gate.intervalMs} ms apart need ${needed} ms at least), so the gate could never pass`,
      'health-timeout'
    )
  }
  return gate
}

/** The release's own options for preparing the idle slot, with the rollout limit always set. */
export type SlotPreparation = Pick<BlueGreenOptions, 'deployCommand' | 'image'> &
  Required<Pick<BlueGreenOptions, 'rolloutTimeoutMs'>>

/** How the new version gets into the idle slot: a deploy command (VMs) or an image (Kubernetes). */
export function readSlotPreparation(inputs: Inputs, router: RouterKind): SlotPreparation {
  const image = inputs.optional('image')
  if (image && router !== 'kubernetes') {
    throw new ConfigurationError(
      `input \`image\` = \`${image}\`: only applies to router \`kubernetes\`; use deploy-command for VMs`,
      'image'
    )
  }
  return {
    deployCommand: inputs.optionalCommand('deploy-command'),
    image,
    rolloutTimeoutMs: inputs.duration('rollout-timeout', '5m')
  }
}

/** The GitHub Deployment record, when both a token and an environment are given. */
export function readDeploymentRecord(
  inputs: Inputs
): Omit<DeploymentOptions, 'description'> | undefined {
  const token = inputs.optional('github-token')
  log.secret(token)
  const environment = inputs.optional('environment')
  // Validated as a URL, kept as written (URL normalisation would add a trailing slash).
  const environmentUrl = inputs.optionalUrl('environment-url')
    ? inputs.raw('environment-url')
    : undefined
  return token && environment ? { token, environment, environmentUrl } : undefined
}
