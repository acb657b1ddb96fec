import { ToolError } from '../core/errors.js'
import type { Inputs } from '../core/inputs.js'
import type { ChangeMeta, Release, Router, RouterState } from './router.js'
import type { Weights } from './slots.js'

// Placeholder: the Kubernetes router is being written (Service selector, Gateway API HTTPRoute
// weights, ingress-nginx canary weight). Until then it fails clearly instead of pretending.
export interface KubernetesConfig {
  namespace: string
}

export function readKubernetesConfig(inputs: Inputs): KubernetesConfig {
  return { namespace: inputs.optional('namespace') ?? 'default' }
}

export class KubernetesRouter implements Router {
  readonly name = 'kubernetes'
  constructor(readonly config: KubernetesConfig) {}
  read(): Promise<RouterState> {
    throw new ToolError('the kubernetes router is not implemented yet')
  }
  setWeights(_w: Weights, _m: ChangeMeta): Promise<void> {
    throw new ToolError('the kubernetes router is not implemented yet')
  }
  lock(): Promise<Release> {
    throw new ToolError('the kubernetes router is not implemented yet')
  }
}
