import { ConfigurationError } from '../../core/errors.js'
import type { Inputs } from '../../core/inputs.js'
import type { KubernetesConfig } from '../../traffic/kubernetes.js'

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
// registry[:port]/path[:tag][@sha256:digest], the grammar of distribution/reference, loosely.
const IMAGE =
  /^(?:[A-Za-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::\w[\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/

function reject(name: string, value: string, accepted: string): never {
  throw new ConfigurationError(`input \`${name}\` = \`${value}\`: ${accepted}`, name)
}

function dnsName(
  inputs: Inputs,
  name: string,
  pattern: RegExp,
  max: number,
  what: string,
  fallback?: string
): string | undefined {
  const value = inputs.optional(name) ?? fallback
  if (value === undefined) return undefined
  if (value.length > max || !pattern.test(value))
    reject(name, value, `expected ${what} (at most ${max} characters)`)
  return value
}

const LABEL_WHAT =
  'a DNS-1123 label: lower-case letters, digits and -, starting and ending with a letter or digit'
const SERVICE_WHAT =
  'a Service name (DNS-1035 label): lower-case letters, digits and -, starting with a letter'
const SUBDOMAIN_WHAT =
  'a Kubernetes object name (DNS-1123 subdomain): lower-case letters, digits, - and .'

/** `slot` or `example.com/slot`, as Kubernetes accepts label keys. */
function labelKey(inputs: Inputs): string {
  const value = inputs.optional('slot-label') ?? 'slot'
  const [prefix, name, extra] = value.includes('/') ? value.split('/') : [undefined, value]
  const okPrefix = prefix === undefined || (prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix))
  if (extra !== undefined || !okPrefix || name.length > 63 || !LABEL_NAME.test(name)) {
    reject('slot-label', value, 'expected a label key such as `slot` or `example.com/slot`')
  }
  return value
}

/** Every input of the kubernetes router, validated; nothing is contacted while it is read. */
export function readKubernetesConfig(inputs: Inputs): KubernetesConfig {
  const namespace = dnsName(inputs, 'namespace', DNS1123_LABEL, 63, LABEL_WHAT, 'default')!
  // `-green` is appended for the per-slot Deployments and Services, which must stay a valid name.
  const app = dnsName(inputs, 'app', DNS1035_LABEL, 57, SERVICE_WHAT)
  if (app === undefined) {
    throw new ConfigurationError(
      'input `app` is required when router is `kubernetes` (Deployments `<app>-blue` and `<app>-green`)',
      'app'
    )
  }
  const service = dnsName(inputs, 'service', DNS1035_LABEL, 63, SERVICE_WHAT, app)!
  const image = inputs.optional('image')
  if (image !== undefined && !IMAGE.test(image)) {
    reject(
      'image',
      image,
      'expected an image reference such as `ghcr.io/acme/shop:1.4.2` or `repo/name@sha256:<64 hex>`'
    )
  }
  const rolloutTimeoutMs = inputs.duration('rollout-timeout', '5m')
  if (rolloutTimeoutMs <= 0)
    reject(
      'rollout-timeout',
      inputs.raw('rollout-timeout'),
      'expected a duration above zero, such as 5m'
    )
  for (const name of ['kubeconfig', 'context']) {
    const value = inputs.optional(name)
    if (value !== undefined && /[\r\n\0]/.test(value)) reject(name, value, 'expected one line')
  }
  const httproute = dnsName(inputs, 'httproute', DNS1123_SUBDOMAIN, 253, SUBDOMAIN_WHAT)
  const canaryIngress = dnsName(inputs, 'canary-ingress', DNS1123_SUBDOMAIN, 253, SUBDOMAIN_WHAT)
  if (httproute !== undefined && canaryIngress !== undefined) {
    throw new ConfigurationError(
      'inputs `httproute` and `canary-ingress` are both set: give one (the HTTPRoute, or the ingress-nginx canary Ingress)',
      'canary-ingress'
    )
  }
  if (httproute !== undefined && inputs.has('service')) {
    throw new ConfigurationError(
      'input `service` does not apply with `httproute`: the HTTPRoute carries the weights to Services `<app>-blue` / `<app>-green`',
      'service'
    )
  }
  return {
    namespace,
    app,
    service,
    slotLabel: labelKey(inputs),
    image,
    container: dnsName(inputs, 'container', DNS1123_LABEL, 63, LABEL_WHAT),
    rolloutTimeoutMs,
    kubeconfig: inputs.optional('kubeconfig'),
    context: inputs.optional('context'),
    httproute,
    canaryIngress
  }
}
