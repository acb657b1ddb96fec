/**
 * The kubernetes router against a fake API server (test/fakes/kube-api.ts). These prove the
 * router speaks the API contract (paths, patch types, resourceVersion, 409 handling, object
 * shapes); they do not prove a real cluster routes traffic. That is the kind workflow's job.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { ConfigurationError, ToolError } from '../../src/core/errors.js'
import { Inputs } from '../../src/core/inputs.js'
import { setLogSink, type LogSink } from '../../src/core/log.js'
import { LOCK_ANNOTATION } from '../../src/kube/annotation-lock.js'
import { KubernetesRouter, type KubernetesConfig } from '../../src/traffic/kubernetes.js'
import { readKubernetesConfig } from '../../src/actions/release-inputs/kubernetes.js'
import { split, allOn } from '../../src/traffic/slots.js'
import {
  canaryIngress,
  deployment,
  httpRoute,
  seed,
  startFakeKubeApi,
  writeKubeconfig,
  type FakeKubeApi
} from '../fakes/kube-api.js'

const logged: string[] = []
const sink: LogSink = {
  info: (m) => logged.push(m),
  debug: (m) => logged.push(m),
  warning: (m) => logged.push(`warning: ${m}`),
  error: (m) => logged.push(`error: ${m}`),
  notice: (m) => logged.push(m),
  startGroup: () => undefined,
  endGroup: () => undefined,
  setSecret: () => undefined
}

let api: FakeKubeApi
let kubeconfig: string

function config(values: Record<string, string> = {}): KubernetesConfig {
  const all: Record<string, string> = { app: 'shop', kubeconfig, ...values }
  return readKubernetesConfig(new Inputs((name) => all[name] ?? ''))
}

const fastLock = { leaseMs: 1500, renewMs: 300, pollMs: 50 }
function router(values: Record<string, string> = {}): KubernetesRouter {
  return new KubernetesRouter(config(values), { lockTiming: fastLock })
}

const toGreen = { previous: 'blue' as const, reason: 'test' }

beforeAll(async () => {
  setLogSink(sink)
  api = await startFakeKubeApi({
    rolloutDelayMs: 150,
    stuckImages: ['registry.example/shop:never-ready']
  })
  kubeconfig = writeKubeconfig(api.url, api.token)
})
afterAll(async () => {
  await api.close()
})
beforeEach(() => {
  api.objects.clear()
  api.requests.length = 0
  seed(api)
})
afterEach(() => {
  // The bearer token must never reach the log.
  expect(logged.join('\n')).not.toContain(api.token)
  logged.length = 0
})

describe('blue-green on the Service selector', () => {
  it('reads the live slot from the selector', async () => {
    const state = await router().read()
    expect(state.weights).toEqual({ blue: 100, green: 0 })
    expect(state.previous).toBeUndefined()
  })

  it('switches the selector, records the previous slot, and keeps other selector keys', async () => {
    const r = router()
    await r.setWeights(allOn('green'), toGreen)
    const svc = api.get('Service', 'shop')
    expect(svc.spec.selector).toEqual({ app: 'shop', slot: 'green' })
    expect(svc.metadata.annotations['ops-actions.io/previous-slot']).toBe('blue')
    expect(Date.parse(svc.metadata.annotations['ops-actions.io/changed-at'])).not.toBeNaN()
    const state = await router().read()
    expect(state).toMatchObject({ weights: { blue: 0, green: 100 }, previous: 'blue' })
    // Every write was a merge patch carrying the resourceVersion it was planned from.
    const patches = api.requests.filter((q) => q.method === 'PATCH')
    expect(patches).toEqual([
      expect.objectContaining({
        path: '/api/v1/namespaces/default/services/shop',
        contentType: 'application/merge-patch+json',
        status: 200
      })
    ])
  })

  it('is idempotent: setting the live slot again writes nothing and keeps the record', async () => {
    const r = router()
    await r.setWeights(allOn('green'), toGreen)
    api.requests.length = 0
    await r.setWeights(allOn('green'), { previous: 'green', reason: 'rerun' })
    expect(api.requests.filter((q) => q.method === 'PATCH')).toEqual([])
    expect((await r.read()).previous).toBe('blue')
  })

  it('rejects a split without httproute or canary-ingress, before touching anything', async () => {
    const error = await router()
      .setWeights(split('green', 5), toGreen)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as Error).message).toMatch(/httproute.*canary-ingress/)
    expect(api.requests).toEqual([])
  })

  it('fails clearly when the selector has no slot label', async () => {
    api.change('Service', 'shop', (o) => (o.spec.selector = { app: 'shop' }))
    await expect(router().read()).rejects.toThrow(/selector \{"app":"shop"\} has no `slot` key/)
  })

  it('uses a custom slot label and namespace', async () => {
    api.objects.clear()
    seed(api)
    for (const o of [...api.objects.values()]) {
      o.metadata.namespace = 'shop-prod'
      api.put(o)
    }
    api.change(
      'Service',
      'shop',
      (o) => (o.spec.selector = { app: 'shop', 'example.com/color': 'blue' }),
      'shop-prod'
    )
    api.change(
      'Deployment',
      'shop-green',
      (o) => (o.spec.template.metadata.labels = { app: 'shop', 'example.com/color': 'green' }),
      'shop-prod'
    )
    const r = router({ namespace: 'shop-prod', 'slot-label': 'example.com/color' })
    await r.setWeights(allOn('green'), toGreen)
    expect(api.get('Service', 'shop', 'shop-prod').spec.selector).toEqual({
      app: 'shop',
      'example.com/color': 'green'
    })
  })

  it('refuses to switch to a slot with no available pods, or whose pods the selector would miss', async () => {
    api.change('Deployment', 'shop-green', (o) => (o.status.availableReplicas = 0))
    await expect(router().setWeights(allOn('green'), toGreen)).rejects.toThrow(
      /shop-green \(slot green\) is not ready.*traffic was not moved/
    )
    api.put(deployment('green'))
    api.change(
      'Deployment',
      'shop-green',
      (o) => (o.spec.template.metadata.labels = { app: 'shop-v2', slot: 'green' })
    )
    await expect(router().setWeights(allOn('green'), toGreen)).rejects.toThrow(/lack app: shop/)
    expect(api.get('Service', 'shop').spec.selector.slot).toBe('blue')
  })

  it('names the object and hints at the cause when it does not exist, or the token is refused', async () => {
    await expect(router({ service: 'nope' }).read()).rejects.toThrow(
      /Service default\/nope: API server answered 404.*is the Service applied/
    )
    const badToken = writeKubeconfig(api.url, 'wrong-token')
    const error = await router({ kubeconfig: badToken })
      .read()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ToolError)
    expect((error as Error).message).toMatch(/401.*credentials were refused/)
  })
})

describe('conflicts (another writer between read and patch)', () => {
  it('stops without overwriting when the other writer changed the selector', async () => {
    api.raceNextPatch('Service', 'shop', (o) => (o.spec.selector.slot = 'green'))
    const error = await router()
      .setWeights(allOn('green'), toGreen)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ToolError)
    expect((error as Error).message).toMatch(
      /changed by someone else between read and write.*nothing was overwritten.*now reads blue 0% \/ green 100%/
    )
    // Exactly one PATCH, answered 409: the other writer's change stands, no annotation was added.
    expect(api.requests.filter((q) => q.method === 'PATCH').map((q) => q.status)).toEqual([409])
    expect(api.get('Service', 'shop').metadata.annotations).toBeUndefined()
  })

  it('retries once when the other writer changed something that does not route traffic', async () => {
    api.raceNextPatch('Service', 'shop', (o) => (o.metadata.labels = { team: 'web' }))
    await router().setWeights(allOn('green'), toGreen)
    expect(api.requests.filter((q) => q.method === 'PATCH').map((q) => q.status)).toEqual([
      409, 200
    ])
    const svc = api.get('Service', 'shop')
    expect(svc.spec.selector.slot).toBe('green')
    expect(svc.metadata.labels).toEqual({ team: 'web' })
  })
})

describe('canary on a Gateway API HTTPRoute', () => {
  beforeEach(() => {
    api.put(httpRoute(100, 0))
  })

  it.each([5, 25, 50, 100])(
    'sets green to %i%% on the slot backendRefs and reads it back',
    async (percent) => {
      const r = router({ httproute: 'shop' })
      await r.setWeights(split('green', percent), toGreen)
      const rules = api.get('HTTPRoute', 'shop').spec.rules
      expect(rules[0].backendRefs).toEqual([
        { name: 'shop-blue', port: 80, weight: 100 - percent },
        { name: 'shop-green', port: 80, weight: percent }
      ])
      // The rule that does not route to the slots is untouched.
      expect(rules[1]).toEqual(httpRoute(100, 0).spec.rules[1])
      expect((await r.read()).weights).toEqual(split('green', percent))
      expect(
        api.get('HTTPRoute', 'shop').metadata.annotations['ops-actions.io/previous-slot']
      ).toBe('blue')
    }
  )

  it('reads Gateway API default weights (1 each = 50/50) and adds a missing slot ref', async () => {
    api.put(httpRoute(undefined, undefined))
    expect((await router({ httproute: 'shop' }).read()).weights).toEqual({ blue: 50, green: 50 })
    const only = httpRoute(1, 0)
    only.spec.rules[0].backendRefs = [{ name: 'shop-blue', port: 80 }]
    api.put(only)
    const r = router({ httproute: 'shop' })
    expect((await r.read()).weights).toEqual({ blue: 100, green: 0 })
    await r.setWeights(split('green', 25), toGreen)
    expect(api.get('HTTPRoute', 'shop').spec.rules[0].backendRefs).toEqual([
      { name: 'shop-blue', port: 80, weight: 75 },
      { name: 'shop-green', port: 80, weight: 25 }
    ])
  })

  it('fails when rules disagree, or no rule routes to the slots', async () => {
    const route = httpRoute(90, 10)
    route.spec.rules[1].backendRefs = [{ name: 'shop-blue', port: 80 }]
    api.put(route)
    await expect(router({ httproute: 'shop' }).read()).rejects.toThrow(
      /rules split traffic differently \(90\/10, 100\/0\)/
    )
    api.put({
      ...httpRoute(1, 1),
      spec: { rules: [{ backendRefs: [{ name: 'other', port: 80 }] }] }
    })
    await expect(router({ httproute: 'shop' }).read()).rejects.toThrow(
      /no rule has backendRefs to Service shop-blue or shop-green/
    )
  })

  it('stops when another writer moved the weights between read and patch', async () => {
    api.raceNextPatch('HTTPRoute', 'shop', (o) => (o.spec.rules[0].backendRefs[1].weight = 30))
    await expect(
      router({ httproute: 'shop' }).setWeights(split('green', 5), toGreen)
    ).rejects.toThrow(/HTTPRoute default\/shop was changed by someone else/)
    expect(api.get('HTTPRoute', 'shop').spec.rules[0].backendRefs[1].weight).toBe(30)
  })
})

describe('canary on an ingress-nginx canary Ingress', () => {
  beforeEach(() => {
    api.put(canaryIngress('green', '0'))
  })

  it('walks 5/25/50 on canary-weight with the selector on blue, then promotes by moving the selector', async () => {
    const r = router({ 'canary-ingress': 'shop-canary' })
    expect((await r.read()).weights).toEqual({ blue: 100, green: 0 })
    for (const percent of [5, 25, 50]) {
      await r.setWeights(split('green', percent), toGreen)
      expect(
        api.get('Ingress', 'shop-canary').metadata.annotations[
          'nginx.ingress.kubernetes.io/canary-weight'
        ]
      ).toBe(String(percent))
      expect(api.get('Service', 'shop').spec.selector.slot).toBe('blue')
      expect((await r.read()).weights).toEqual(split('green', percent))
    }
    await r.setWeights(allOn('green'), toGreen)
    expect(api.get('Service', 'shop').spec.selector.slot).toBe('green')
    expect(
      api.get('Ingress', 'shop-canary').metadata.annotations[
        'nginx.ingress.kubernetes.io/canary-weight'
      ]
    ).toBe('0')
    expect(await r.read()).toMatchObject({ weights: { blue: 0, green: 100 }, previous: 'blue' })
    // Selector first, then the canary weight to 0: green keeps its share at every moment.
    const last = api.requests
      .filter((q) => q.method === 'PATCH')
      .slice(-2)
      .map((q) => q.path.split('/').slice(-2)[0])
    expect(last).toEqual(['services', 'ingresses'])
  })

  it('repoints the canary Ingress at the other slot for the next release, scaling to canary-weight-total', async () => {
    api.put(service('shop', { app: 'shop', slot: 'green' }))
    api.put(
      canaryIngress('green', '0', { 'nginx.ingress.kubernetes.io/canary-weight-total': '1000' })
    )
    const r = router({ 'canary-ingress': 'shop-canary' })
    await r.setWeights(split('blue', 25), { previous: 'green', reason: 'test' })
    const ing = api.get('Ingress', 'shop-canary')
    expect(ing.spec.rules[0].http.paths[0].backend.service.name).toBe('shop-blue')
    expect(ing.metadata.annotations['nginx.ingress.kubernetes.io/canary-weight']).toBe('250')
    expect((await r.read()).weights).toEqual({ blue: 25, green: 75 })
  })

  it('refuses an Ingress that is not a canary', async () => {
    api.put(canaryIngress('green', '0', { 'nginx.ingress.kubernetes.io/canary': 'false' }))
    await expect(router({ 'canary-ingress': 'shop-canary' }).read()).rejects.toThrow(
      /is not an ingress-nginx canary/
    )
  })
})

function service(name: string, selector: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { selector, ports: [{ port: 80 }] }
  }
}

describe('prepareSlot: image on the idle Deployment, then wait for the rollout', () => {
  it('sets the image and returns once the controller reports the rollout done', async () => {
    const r = router()
    await r.prepareSlot('green', 'registry.example/shop:2.0.0')
    const d = api.get('Deployment', 'shop-green')
    expect(d.spec.template.spec.containers[0].image).toBe('registry.example/shop:2.0.0')
    expect(d.status.observedGeneration).toBe(d.metadata.generation)
    expect(d.status.updatedReplicas).toBe(2)
    expect(api.get('Deployment', 'shop-blue').spec.template.spec.containers[0].image).toBe(
      'registry.example/shop:1.0.0'
    )
  })

  it('fails after the timeout when the new pods never become ready', async () => {
    const error = await router()
      .prepareSlot('green', 'registry.example/shop:never-ready', 700)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ToolError)
    expect((error as Error).message).toMatch(
      /rollout of registry.example\/shop:never-ready not finished after 700ms \(1\/2 updated/
    )
  })

  it('refuses to change the image of the live slot', async () => {
    await expect(router().prepareSlot('blue', 'registry.example/shop:2.0.0')).rejects.toThrow(
      /slot blue takes 100% of traffic/
    )
    expect(api.requests.filter((q) => q.method === 'PATCH')).toEqual([])
  })

  it('needs `container` when the pod has several, and patches the named one', async () => {
    api.change('Deployment', 'shop-green', (o) =>
      o.spec.template.spec.containers.unshift({ name: 'proxy', image: 'envoy:1' })
    )
    await expect(router().prepareSlot('green', 'registry.example/shop:2.0.0')).rejects.toThrow(
      /2 containers \(proxy, shop\); set input `container`/
    )
    await router({ container: 'shop' }).prepareSlot('green', 'registry.example/shop:2.0.0')
    expect(
      api
        .get('Deployment', 'shop-green')
        .spec.template.spec.containers.map((c: { image: string }) => c.image)
    ).toEqual(['envoy:1', 'registry.example/shop:2.0.0'])
  })
})

describe('lock: a lease annotation written with resourceVersion', () => {
  it('lets one run in; the other waits, then fails naming the holder', async () => {
    const release = await router().lock('run 1', 1000)
    expect(JSON.parse(api.get('Service', 'shop').metadata.annotations[LOCK_ANNOTATION]).owner).toBe(
      'run 1'
    )
    const error = await router()
      .lock('run 2', 300)
      .catch((e: unknown) => e)
    expect((error as Error).message).toMatch(
      /another run holds the router lock \(run 1 .*changed nothing/
    )
    await release()
    expect(api.get('Service', 'shop').metadata.annotations[LOCK_ANNOTATION]).toBeUndefined()
    const second = await router().lock('run 2', 300)
    await second()
  })

  it('a waiting run gets the lock once the holder releases it', async () => {
    const release = await router().lock('run 1', 1000)
    const waiting = router().lock('run 2', 5000)
    setTimeout(() => void release(), 200)
    const second = await waiting
    expect(JSON.parse(api.get('Service', 'shop').metadata.annotations[LOCK_ANNOTATION]).owner).toBe(
      'run 2'
    )
    await second()
  })

  it('of two runs racing for a free lock exactly one wins', async () => {
    const results = await Promise.allSettled([router().lock('a', 0), router().lock('b', 0)])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const r of results) if (r.status === 'fulfilled') await r.value()
  })

  it('takes over a stale lease left by a killed run', async () => {
    const stale = {
      owner: 'killed run',
      host: 'elsewhere',
      id: 'x',
      expires: new Date(Date.now() - 1000).toISOString()
    }
    api.change(
      'Service',
      'shop',
      (o) => (o.metadata.annotations = { [LOCK_ANNOTATION]: JSON.stringify(stale) })
    )
    const release = await router().lock('run 2', 0)
    expect(logged.join('\n')).toMatch(/taking over the stale lock of killed run/)
    await release()
  })

  it('renews its lease, and a switch under the lock retries over the renewal conflict', async () => {
    const r = router()
    const release = await r.lock('run 1', 0)
    const first = JSON.parse(
      api.get('Service', 'shop').metadata.annotations[LOCK_ANNOTATION]
    ).expires
    // renewals every 300 ms: wait (bounded) for one rather than a fixed 700 ms a loaded machine can outlast
    const expires = (): string =>
      JSON.parse(api.get('Service', 'shop').metadata.annotations[LOCK_ANNOTATION]).expires
    for (let i = 0; i < 100 && expires() <= first; i++) await new Promise((r) => setTimeout(r, 100))
    expect(expires() > first).toBe(true)
    // A renewal landing between read and patch: only the resourceVersion moves.
    api.raceNextPatch('Service', 'shop', () => undefined)
    await r.setWeights(allOn('green'), toGreen)
    expect(api.get('Service', 'shop').metadata.annotations[LOCK_ANNOTATION]).toBeDefined()
    await release()
  })

  it('locks the HTTPRoute when one is configured', async () => {
    api.put(httpRoute(100, 0))
    const release = await router({ httproute: 'shop' }).lock('run 1', 0)
    expect(api.get('HTTPRoute', 'shop').metadata.annotations[LOCK_ANNOTATION]).toBeDefined()
    await release()
  })
})
