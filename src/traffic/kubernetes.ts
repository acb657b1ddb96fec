import { ConfigurationError, ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import { takeAnnotationLock, type LockTiming } from '../kube/annotation-lock.js'
import {
  describeRef,
  isConflict,
  KubeClient,
  type KubeObject,
  type ObjectRef
} from '../kube/client.js'
import { loadCredentials } from '../kube/kubeconfig.js'
import { rolloutStatus, setImageAndWait } from '../kube/rollout.js'
import {
  ingressCanary,
  ingressPatch,
  ingressWeights,
  readRecord,
  recordAnnotations,
  routePatch,
  routeWeights,
  selectorOf,
  selectorPatch,
  selectorSlot,
  slotServices,
  type SlotServices
} from './kubernetes-objects.js'
import type { ChangeMeta, Release, Router, RouterState } from './router.js'
import {
  allOn,
  formatWeights,
  otherSlot,
  sameWeights,
  SLOTS,
  type Slot,
  type Weights
} from './slots.js'

/** The kubernetes router's settings (read from inputs in src/actions/release-inputs/). */
export interface KubernetesConfig {
  namespace: string
  /** Deployments `<app>-blue` / `<app>-green`, and per-slot Services of the same names. */
  app: string
  /** The Service whose selector picks the live slot (blue-green, and ingress-nginx stable). */
  service: string
  slotLabel: string
  /** Image to roll out on the idle slot before traffic moves (see KubernetesRouter.prepareSlot). */
  image?: string
  /** Which container gets `image`; default: the Deployment's only container. */
  container?: string
  rolloutTimeoutMs: number
  kubeconfig?: string
  context?: string
  /** Gateway API HTTPRoute carrying the weights (canary and blue-green). */
  httproute?: string
  /** ingress-nginx canary Ingress whose `canary-weight` gives the canary slot its share. */
  canaryIngress?: string
}

export interface KubernetesRouterOptions {
  /** For tests: a shorter lease than the default 45s. */
  lockTiming?: LockTiming
}

/** What one read saw: the objects (for their resourceVersion) and the weights they mean. */
interface Snapshot {
  state: RouterState
  service?: KubeObject
  route?: KubeObject
  ingress?: KubeObject
}

/** One guarded write: rebuilt from a fresh read after a conflict if nothing that matters moved. */
interface PlannedPatch {
  ref: ObjectRef
  read: KubeObject
  build: (obj: KubeObject) => unknown
  /** What of the object decides traffic; a conflict that did not change it is retried once. */
  fingerprint: (obj: KubeObject) => string
}

/**
 * Kubernetes as a router. Blue-green: the Service selector `<slot-label>` picks Deployment
 * `<app>-blue` or `<app>-green`. Canary: weights on a Gateway API HTTPRoute's backendRefs to
 * Services `<app>-blue` / `<app>-green`, or (second choice, the controller is retired) the
 * `canary-weight` of an ingress-nginx canary Ingress next to the selector-switched Service.
 * The objects are the source of truth: the previous slot and the time of the last change are
 * annotations on the Service (or the HTTPRoute), and every write carries the resourceVersion
 * it was planned from, so a concurrent change is a 409 Conflict, never a silent overwrite.
 */
export class KubernetesRouter implements Router {
  readonly name: string
  /** False when only the Service selector is configured: all traffic on one slot at a time. */
  readonly canSplit: boolean
  private readonly services: SlotServices
  private client?: Promise<KubeClient>

  constructor(
    readonly config: KubernetesConfig,
    private readonly options: KubernetesRouterOptions = {}
  ) {
    const { namespace, service, httproute, canaryIngress } = config
    this.name = httproute
      ? `kubernetes HTTPRoute ${namespace}/${httproute}`
      : `kubernetes Service ${namespace}/${service}${canaryIngress ? ` + canary Ingress ${canaryIngress}` : ''}`
    this.canSplit = httproute !== undefined || canaryIngress !== undefined
    this.services = slotServices(config.app)
  }

  private api(): Promise<KubeClient> {
    this.client ??= loadCredentials({
      path: this.config.kubeconfig,
      context: this.config.context
    }).then((c) => {
      log.debug(`${this.name}: API server ${c.server.origin} (${c.source})`)
      return new KubeClient(c)
    })
    return this.client
  }

  private ref(kind: ObjectRef['kind'], name: string): ObjectRef {
    return { kind, namespace: this.config.namespace, name }
  }

  /** Where the change record and the lock live. */
  private get stateRef(): ObjectRef {
    return this.config.httproute
      ? this.ref('HTTPRoute', this.config.httproute)
      : this.ref('Service', this.config.service)
  }

  private async snapshot(): Promise<Snapshot> {
    const client = await this.api()
    const { httproute, canaryIngress, slotLabel } = this.config
    if (httproute) {
      const route = await client.get(this.ref('HTTPRoute', httproute))
      const weights = routeWeights(route, this.services)
      return { route, state: { weights, ...readRecord(route), detail: this.name } }
    }
    const service = await client.get(this.ref('Service', this.config.service))
    const live = selectorSlot(service, slotLabel)
    if (!canaryIngress)
      return { service, state: { weights: allOn(live), ...readRecord(service), detail: this.name } }
    const ingress = await client.get(this.ref('Ingress', canaryIngress))
    const weights = ingressWeights(live, ingressCanary(ingress, this.services))
    return { service, ingress, state: { weights, ...readRecord(service), detail: this.name } }
  }

  async read(): Promise<RouterState> {
    return (await this.snapshot()).state
  }

  async setWeights(weights: Weights, meta: ChangeMeta): Promise<void> {
    checkWeights(weights)
    const split = weights.blue > 0 && weights.green > 0
    if (split && !this.canSplit) {
      throw new ConfigurationError(
        `${this.name}: ${formatWeights(weights)} needs a canary router; a Service selector sends all traffic ` +
          'to one slot. Set input `httproute` (Gateway API) or `canary-ingress` (ingress-nginx)',
        'httproute'
      )
    }
    const before = await this.snapshot()
    if (sameWeights(before.state.weights, weights)) {
      log.info(`${this.name}: already ${formatWeights(weights)}; nothing to change`)
      return
    }
    for (const slot of SLOTS) {
      if (weights[slot] > 0 && before.state.weights[slot] === 0)
        await this.checkSlotServes(slot, before)
    }
    const record = recordAnnotations(meta.previous, new Date().toISOString())
    for (const patch of this.plan(before, weights, record)) await this.applyGuarded(patch)
    const after = await this.read()
    if (!sameWeights(after.weights, weights)) {
      throw new ToolError(
        `${this.name}: asked for ${formatWeights(weights)}, the API server now reports ${formatWeights(after.weights)}`
      )
    }
    log.info(
      `${this.name}: ${formatWeights(before.state.weights)} -> ${formatWeights(weights)} (${meta.reason})`
    )
  }

  /** The writes, in an order where no step sends traffic to a slot that should get none. */
  private plan(before: Snapshot, weights: Weights, record: Record<string, string>): PlannedPatch[] {
    const { slotLabel } = this.config
    if (before.route) {
      return [
        {
          ref: this.stateRef,
          read: before.route,
          build: (r) => routePatch(r, this.services, weights, record),
          fingerprint: (r) => JSON.stringify(r.spec?.rules ?? null)
        }
      ]
    }
    const service = before.service!
    const live = selectorSlot(service, slotLabel)
    // The selector keeps its slot while that slot keeps traffic (fewest changes in a canary).
    const stable = weights[live] > 0 ? live : otherSlot(live)
    const patches: PlannedPatch[] = [
      {
        ref: this.ref('Service', this.config.service),
        read: service,
        build: (s) => selectorPatch(s, slotLabel, stable, record),
        fingerprint: (s) => JSON.stringify(selectorOf(s))
      }
    ]
    if (before.ingress) {
      const canarySlot = otherSlot(stable)
      const current = ingressCanary(before.ingress, this.services)
      patches.push({
        ref: this.ref('Ingress', this.config.canaryIngress!),
        read: before.ingress,
        build: (i) =>
          ingressPatch(i, this.services, canarySlot, weights[canarySlot], current.total),
        fingerprint: (i) => JSON.stringify([i.metadata.annotations ?? {}, i.spec ?? {}])
      })
      // Moving the selector onto the canary slot first keeps that slot's share while the
      // canary weight drops; lowering the canary first would send its share to the old slot.
      if (stable === live) patches.reverse()
    }
    return patches
  }

  /**
   * Patches with the resourceVersion it read. On 409 Conflict, reads again: if what decides
   * traffic is unchanged (e.g. only the lock lease was renewed), retries once; otherwise
   * someone else changed traffic meanwhile and the run stops instead of overwriting it.
   */
  private async applyGuarded(p: PlannedPatch): Promise<void> {
    const client = await this.api()
    try {
      await client.mergePatch(p.ref, p.build(p.read))
      return
    } catch (error) {
      if (!isConflict(error)) throw error
    }
    const fresh = await client.get(p.ref)
    if (p.fingerprint(fresh) !== p.fingerprint(p.read)) {
      throw new ToolError(
        `${describeRef(p.ref)} was changed by someone else between read and write (resourceVersion ` +
          `${p.read.metadata.resourceVersion} -> ${fresh.metadata.resourceVersion}); nothing was overwritten. ` +
          `It now reads ${formatWeights((await this.snapshot()).state.weights)}. Check who changed it, then run again`
      )
    }
    log.info(
      `${describeRef(p.ref)}: conflict on an unrelated change; retrying once on resourceVersion ${fresh.metadata.resourceVersion}`
    )
    await client.mergePatch(p.ref, p.build(fresh))
  }

  /** A slot about to get traffic must have available pods, or the switch is an outage. */
  private async checkSlotServes(slot: Slot, before: Snapshot): Promise<void> {
    const client = await this.api()
    const deployment = await client.get(this.ref('Deployment', `${this.config.app}-${slot}`))
    const available = Number(
      (deployment.status as { availableReplicas?: number } | undefined)?.availableReplicas ?? 0
    )
    const rollout = rolloutStatus(deployment)
    if (available < 1 || !rollout.done) {
      throw new ToolError(
        `Deployment ${deployment.metadata.name} (slot ${slot}) is not ready to take traffic: ` +
          `${rollout.done ? `${available} available replicas` : rollout.detail}; traffic was not moved`
      )
    }
    if (before.service && !this.config.httproute) {
      const want = { ...selectorOf(before.service), [this.config.slotLabel]: slot }
      const labels =
        (deployment.spec?.template as { metadata?: { labels?: Record<string, string> } })?.metadata
          ?.labels ?? {}
      const missing = Object.entries(want).filter(([k, v]) => labels[k] !== v)
      if (missing.length > 0) {
        throw new ToolError(
          `Deployment ${deployment.metadata.name}: its pod labels lack ${missing.map(([k, v]) => `${k}: ${v}`).join(', ')}, ` +
            `so Service ${this.config.service} would select no pod of slot ${slot}; traffic was not moved`
        )
      }
    }
  }

  /**
   * Rolls `image` out on the slot's Deployment and waits for it (bounded by `timeoutMs`, default
   * input `rollout-timeout`). Refuses a slot that takes traffic: that would be an in-place
   * update of production, not blue-green.
   */
  async prepareSlot(
    slot: Slot,
    image: string,
    timeoutMs = this.config.rolloutTimeoutMs
  ): Promise<void> {
    const { weights } = await this.read()
    if (weights[slot] > 0) {
      throw new ToolError(
        `${this.name}: slot ${slot} takes ${weights[slot]}% of traffic; refusing to change its image in place (deploy to the idle slot)`
      )
    }
    await setImageAndWait(
      await this.api(),
      this.ref('Deployment', `${this.config.app}-${slot}`),
      this.config.container,
      image,
      timeoutMs
    )
  }

  async lock(owner: string, waitMs: number): Promise<Release> {
    return takeAnnotationLock(
      await this.api(),
      this.stateRef,
      owner,
      waitMs,
      this.options.lockTiming
    )
  }
}

function checkWeights(w: Weights): void {
  const ok =
    SLOTS.every((s) => Number.isInteger(w[s]) && w[s] >= 0 && w[s] <= 100) &&
    w.blue + w.green === 100
  if (!ok)
    throw new ToolError(
      `kubernetes router: weights must be whole percentages adding up to 100, got ${formatWeights(w)}`
    )
}
