/**
 * Pure reading and patching of the three objects the kubernetes router drives: the Service
 * selector (blue-green), the Gateway API HTTPRoute backendRefs weights, and the ingress-nginx
 * canary Ingress. No I/O here, so every rule is table-tested.
 */
import { ToolError } from '../core/errors.js'
import type { KubeObject } from '../kube/client.js'
import { SLOTS, type Slot, type Weights } from './slots.js'

export const PREVIOUS_SLOT = 'ops-actions.io/previous-slot'
export const CHANGED_AT = 'ops-actions.io/changed-at'
export const CANARY = 'nginx.ingress.kubernetes.io/canary'
export const CANARY_WEIGHT = 'nginx.ingress.kubernetes.io/canary-weight'
export const CANARY_WEIGHT_TOTAL = 'nginx.ingress.kubernetes.io/canary-weight-total'

export type SlotServices = Record<Slot, string>

export function slotServices(app: string): SlotServices {
  return { blue: `${app}-blue`, green: `${app}-green` }
}

function slotOfService(name: string | undefined, services: SlotServices): Slot | undefined {
  return SLOTS.find((s) => services[s] === name)
}

/** The change record kept on the object: the router is the source of truth, not the runner. */
export function readRecord(obj: KubeObject): { previous?: Slot; changedAt?: string } {
  const a = obj.metadata.annotations ?? {}
  const previous = a[PREVIOUS_SLOT]
  return {
    previous: previous === 'blue' || previous === 'green' ? previous : undefined,
    changedAt: a[CHANGED_AT]
  }
}

export function recordAnnotations(previous: Slot, changedAt: string): Record<string, string> {
  return { [PREVIOUS_SLOT]: previous, [CHANGED_AT]: changedAt }
}

function guard(obj: KubeObject): { resourceVersion?: string } {
  return { resourceVersion: obj.metadata.resourceVersion }
}

// ---- Service selector ----

export function selectorOf(svc: KubeObject): Record<string, string> {
  return ((svc.spec?.selector ?? {}) as Record<string, string>) ?? {}
}

export function selectorSlot(svc: KubeObject, slotLabel: string): Slot {
  const value = selectorOf(svc)[slotLabel]
  if (value !== 'blue' && value !== 'green') {
    throw new ToolError(
      `Service ${svc.metadata.name}: selector ${JSON.stringify(selectorOf(svc))} has ` +
        `${value === undefined ? `no \`${slotLabel}\` key` : `\`${slotLabel}: ${value}\``}; ` +
        `expected \`${slotLabel}: blue\` or \`${slotLabel}: green\` (see examples/kubernetes)`
    )
  }
  return value
}

/** Merge patch: selector to `slot`, plus the change record; guarded by resourceVersion. */
export function selectorPatch(
  svc: KubeObject,
  slotLabel: string,
  slot: Slot,
  record?: Record<string, string>
): unknown {
  return {
    metadata: { ...guard(svc), ...(record ? { annotations: record } : {}) },
    spec: { selector: { [slotLabel]: slot } }
  }
}

// ---- Gateway API HTTPRoute ----

interface BackendRef {
  name?: string
  kind?: string
  group?: string
  weight?: number
  [key: string]: unknown
}
interface RouteRule {
  backendRefs?: BackendRef[]
  [key: string]: unknown
}

function routeRules(route: KubeObject): RouteRule[] {
  return ((route.spec?.rules ?? []) as RouteRule[]) ?? []
}

function isSlotRef(ref: BackendRef, services: SlotServices): boolean {
  return (
    (ref.kind ?? 'Service') === 'Service' &&
    (ref.group ?? '') === '' &&
    slotOfService(ref.name, services) !== undefined
  )
}

/** Percent per slot from one rule's backendRefs (Gateway API: weight defaults to 1). */
function ruleWeights(rule: RouteRule, services: SlotServices): Weights {
  const raw: Weights = { blue: 0, green: 0 }
  for (const ref of rule.backendRefs ?? []) {
    if (isSlotRef(ref, services)) raw[slotOfService(ref.name, services)!] += ref.weight ?? 1
  }
  const total = raw.blue + raw.green
  if (total === 0) return raw
  const blue = Math.round((raw.blue / total) * 100)
  return { blue, green: 100 - blue }
}

/** Weights of the rules that send to the slot Services; they must all agree. */
export function routeWeights(route: KubeObject, services: SlotServices): Weights {
  const rules = routeRules(route).filter((r) =>
    (r.backendRefs ?? []).some((ref) => isSlotRef(ref, services))
  )
  if (rules.length === 0) {
    throw new ToolError(
      `HTTPRoute ${route.metadata.name}: no rule has backendRefs to Service ${services.blue} or ${services.green}; ` +
        'add them (see examples/kubernetes/httproute.yaml)'
    )
  }
  const all = rules.map((r) => ruleWeights(r, services))
  const first = all[0]
  if (all.some((w) => w.blue !== first.blue || w.green !== first.green)) {
    throw new ToolError(
      `HTTPRoute ${route.metadata.name}: its rules split traffic differently (${all.map((w) => `${w.blue}/${w.green}`).join(', ')}); ` +
        'set them to the same weights by hand, or re-apply the route, then run again'
    )
  }
  return first
}

/**
 * The route's rules with both slot backendRefs weighted as asked. A missing slot ref is added,
 * copied from the other one (same port, namespace), so a route that only lists the live slot
 * works. Rules that do not send to the slots are left as they are.
 */
export function weightedRules(
  route: KubeObject,
  services: SlotServices,
  weights: Weights
): RouteRule[] {
  return routeRules(route).map((rule) => {
    const refs = rule.backendRefs ?? []
    const model = refs.find((r) => isSlotRef(r, services))
    if (!model) return rule
    const next = refs.filter((r) => !isSlotRef(r, services))
    for (const slot of SLOTS) {
      const existing = refs.find((r) => isSlotRef(r, services) && r.name === services[slot])
      next.push({ ...(existing ?? model), name: services[slot], weight: weights[slot] })
    }
    return { ...rule, backendRefs: next }
  })
}

export function routePatch(
  route: KubeObject,
  services: SlotServices,
  weights: Weights,
  record: Record<string, string>
): unknown {
  // A merge patch replaces lists whole; the resourceVersion makes that safe.
  return {
    metadata: { ...guard(route), annotations: record },
    spec: { rules: weightedRules(route, services, weights) }
  }
}

// ---- ingress-nginx canary Ingress ----

interface IngressBackend {
  service?: { name?: string; [key: string]: unknown }
  [key: string]: unknown
}
interface IngressSpec {
  defaultBackend?: IngressBackend
  rules?: {
    http?: { paths?: { backend?: IngressBackend; [key: string]: unknown }[] }
    [key: string]: unknown
  }[]
}

function backends(ing: KubeObject): IngressBackend[] {
  const spec = (ing.spec ?? {}) as IngressSpec
  const list = spec.defaultBackend ? [spec.defaultBackend] : []
  for (const rule of spec.rules ?? [])
    for (const p of rule.http?.paths ?? []) if (p.backend) list.push(p.backend)
  return list
}

export interface IngressCanary {
  /** The slot whose Service the canary Ingress sends to. */
  slot: Slot
  /** Percent of requests the canary Ingress takes (0..100). */
  weight: number
  total: number
}

export function ingressCanary(ing: KubeObject, services: SlotServices): IngressCanary {
  const a = ing.metadata.annotations ?? {}
  const name = `Ingress ${ing.metadata.name}`
  if (a[CANARY] !== 'true') {
    throw new ToolError(
      `${name} is not an ingress-nginx canary (annotation ${CANARY}: "true" missing); ` +
        'point canary-ingress at the canary Ingress, not the main one (see examples/kubernetes/ingress-nginx-canary.yaml)'
    )
  }
  const names = [...new Set(backends(ing).map((b) => b.service?.name))]
  const slot = names.length === 1 ? slotOfService(names[0], services) : undefined
  if (!slot) {
    throw new ToolError(
      `${name}: its backends go to ${names.join(', ') || 'nothing'}; expected every backend to be ` +
        `Service ${services.blue} or every backend ${services.green}`
    )
  }
  const total = Number(a[CANARY_WEIGHT_TOTAL] ?? '100')
  const raw = Number(a[CANARY_WEIGHT] ?? '0')
  if (!(total > 0) || !(raw >= 0 && raw <= total)) {
    throw new ToolError(
      `${name}: canary-weight \`${a[CANARY_WEIGHT]}\` / total \`${a[CANARY_WEIGHT_TOTAL] ?? 100}\` is not a weight`
    )
  }
  return { slot, weight: Math.round((raw / total) * 100), total }
}

/** Merge patch: backends to the slot's Service and the weight (scaled to canary-weight-total). */
export function ingressPatch(
  ing: KubeObject,
  services: SlotServices,
  slot: Slot,
  percent: number,
  total: number
): unknown {
  const target = services[slot]
  const spec = structuredClone((ing.spec ?? {}) as IngressSpec)
  for (const b of backends({ ...ing, spec: spec as Record<string, unknown> }))
    if (b.service) b.service.name = target
  return {
    metadata: {
      ...guard(ing),
      annotations: { [CANARY_WEIGHT]: String(Math.round((percent * total) / 100)) }
    },
    spec: {
      ...(spec.defaultBackend ? { defaultBackend: spec.defaultBackend } : {}),
      ...(spec.rules ? { rules: spec.rules } : {})
    }
  }
}

/** Weights when the Service selector sends to `stable` and the canary Ingress takes its share. */
export function ingressWeights(stable: Slot, canary: IngressCanary): Weights {
  if (canary.slot === stable || canary.weight === 0)
    return stable === 'blue' ? { blue: 100, green: 0 } : { blue: 0, green: 100 }
  return stable === 'blue'
    ? { blue: 100 - canary.weight, green: canary.weight }
    : { blue: canary.weight, green: 100 - canary.weight }
}
