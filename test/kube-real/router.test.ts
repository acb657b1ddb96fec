/**
 * The kubernetes router against a real kube-apiserver, controller-manager, scheduler and etcd
 * (lab/services/kube.ts; KWOK plays the kubelet), on the objects of examples/kubernetes. The
 * same scenarios as test/traffic/kubernetes-router.contract.test.ts, which keeps only what the
 * real server cannot be made to do (named there).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { ToolError } from '../../src/core/errors.js'
import { Inputs } from '../../src/core/inputs.js'
import { setLogSink, type LogSink } from '../../src/core/log.js'
import { LOCK_ANNOTATION } from '../../src/kube/annotation-lock.js'
import { isConflict, KubeClient } from '../../src/kube/client.js'
import { loadCredentials } from '../../src/kube/kubeconfig.js'
import { KubernetesRouter, type KubernetesConfig } from '../../src/traffic/kubernetes.js'
import { readKubernetesConfig } from '../../src/actions/release-inputs/kubernetes.js'
import { allOn, split } from '../../src/traffic/slots.js'
import { KubeRaceProxy } from '../../lab/kube-race-proxy.js'
import { writeTokenKubeconfig } from '../../lab/kube-api.js'
import { STUCK_IMAGE_SUFFIX } from '../../lab/services/kube.js'
import { startScene, type Scene } from './scene.js'

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

let scene: Scene
let ns: string

function config(values: Record<string, string> = {}): KubernetesConfig {
  const all: Record<string, string> = {
    app: 'shop',
    kubeconfig: scene.kube.kubeconfig,
    namespace: ns,
    ...values
  }
  return readKubernetesConfig(new Inputs((name) => all[name] ?? ''))
}

const fastLock = { leaseMs: 1500, renewMs: 300, pollMs: 50 }
const router = (values: Record<string, string> = {}): KubernetesRouter =>
  new KubernetesRouter(config(values), { lockTiming: fastLock })
const toGreen = { previous: 'blue' as const, reason: 'test' }
const path = {
  service: (name: string) => `/api/v1/namespaces/${ns}/services/${name}`,
  deployment: (name: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
  httpRoute: (name: string) =>
    `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes/${name}`
}
/** Another writer: the admin, with a merge patch (no resourceVersion: it always wins). */
const otherWriter = (p: string, patch: unknown) =>
  scene.kube.api.call('PATCH', p, patch, 'application/merge-patch+json')

beforeAll(async () => {
  setLogSink(sink)
  scene = await startScene()
}, 300_000)
afterAll(async () => {
  await scene?.stop()
})
beforeEach(async () => {
  ns = await scene.namespace()
  logged.length = 0
}, 120_000)

describe('blue-green on the Service selector', () => {
  it('reads the live slot, switches the selector, records the previous slot', async () => {
    expect(await router().read()).toMatchObject({ weights: { blue: 100, green: 0 } })
    await router().setWeights(allOn('green'), toGreen)
    const svc = await scene.service(ns, 'shop')
    expect(svc.spec.selector).toEqual({ app: 'shop', slot: 'green' })
    expect(svc.metadata.annotations['ops-actions.io/previous-slot']).toBe('blue')
    expect(Date.parse(svc.metadata.annotations['ops-actions.io/changed-at'])).not.toBeNaN()
    expect(await router().read()).toMatchObject({
      weights: { blue: 0, green: 100 },
      previous: 'blue'
    })
    expect(logged.join('\n')).not.toContain(scene.kube.adminToken)
  })

  it('is idempotent: setting the live slot again writes nothing (resourceVersion unchanged)', async () => {
    await router().setWeights(allOn('green'), toGreen)
    const before = (await scene.service(ns, 'shop')).metadata.resourceVersion
    await router().setWeights(allOn('green'), { previous: 'green', reason: 'rerun' })
    const after = await scene.service(ns, 'shop')
    expect(after.metadata.resourceVersion).toBe(before)
    expect(after.metadata.annotations['ops-actions.io/previous-slot']).toBe('blue')
  })

  it('refuses a slot with no available pods, or whose pods the selector would miss', async () => {
    await otherWriter(path.deployment('shop-green'), { spec: { replicas: 0 } })
    await scene.rolledOut(ns, 'shop-green')
    await expect(router().setWeights(allOn('green'), toGreen)).rejects.toThrow(
      /shop-green \(slot green\) is not ready.*traffic was not moved/
    )
    await otherWriter(path.deployment('shop-green'), { spec: { replicas: 2 } })
    await scene.rolledOut(ns, 'shop-green')
    // A selector key the green pods lack (the API server forbids a Deployment whose pods miss
    // its own selector, so the mismatch is between the Service and the pods).
    await otherWriter(path.service('shop'), { spec: { selector: { tier: 'web' } } })
    await expect(router().setWeights(allOn('green'), toGreen)).rejects.toThrow(/lack tier: web/)
    expect((await scene.service(ns, 'shop')).spec.selector.slot).toBe('blue')
  })

  it('names the object on 404 and hints at the cause when the token is refused (401)', async () => {
    await expect(router({ service: 'nope' }).read()).rejects.toThrow(
      new RegExp(`Service ${ns}/nope: API server answered 404.*is the Service applied`)
    )
    const bad = writeTokenKubeconfig(
      scene.lab.path('kube', 'bad.kubeconfig'),
      scene.kube.server,
      scene.kube.caFile,
      'not-a-token'
    )
    const error = await router({ kubeconfig: bad })
      .read()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ToolError)
    expect((error as Error).message).toMatch(/401.*credentials were refused/)
  })
})

describe('conflicts: the real API server answers 409 on a stale resourceVersion', () => {
  let relay: KubeRaceProxy
  beforeAll(async () => {
    relay = await new KubeRaceProxy(scene.kube.server, scene.kube.ca).start()
  })
  afterAll(() => relay.close())
  beforeEach(() => {
    relay.requests.length = 0
  })
  const viaRelay = (values: Record<string, string> = {}): KubernetesRouter =>
    router({
      kubeconfig: writeTokenKubeconfig(
        scene.lab.path('kube', `relay-${ns}.kubeconfig`),
        relay.url,
        scene.kube.caFile,
        scene.kube.adminToken,
        ns
      ),
      ...values
    })

  it('the product client gets 409 Conflict for a merge patch with a stale resourceVersion', async () => {
    const client = new KubeClient(await loadCredentials({ path: scene.kube.kubeconfig }))
    const ref = { kind: 'Service' as const, namespace: ns, name: 'shop' }
    const read = await client.get(ref)
    await otherWriter(path.service('shop'), { metadata: { labels: { team: 'web' } } })
    const error = await client
      .mergePatch(ref, {
        metadata: { resourceVersion: read.metadata.resourceVersion },
        spec: { selector: { slot: 'green' } }
      })
      .catch((e: unknown) => e)
    expect(isConflict(error)).toBe(true)
    expect((error as Error).message).toMatch(/409.*the object has been modified/)
    expect((await scene.service(ns, 'shop')).spec.selector.slot).toBe('blue')
  })

  it('stops without overwriting when the other writer changed the selector', async () => {
    relay.raceNextPatch(path.service('shop'), async () => {
      await otherWriter(path.service('shop'), { spec: { selector: { slot: 'green' } } })
    })
    const error = await viaRelay()
      .setWeights(allOn('green'), toGreen)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ToolError)
    expect((error as Error).message).toMatch(
      /changed by someone else between read and write.*nothing was overwritten.*now reads blue 0% \/ green 100%/
    )
    expect(relay.requests.filter((q) => q.method === 'PATCH').map((q) => q.status)).toEqual([409])
    expect((await scene.service(ns, 'shop')).metadata.annotations).toBeUndefined()
  })

  it('retries once when the other writer changed something that does not route traffic', async () => {
    relay.raceNextPatch(path.service('shop'), async () => {
      await otherWriter(path.service('shop'), { metadata: { labels: { team: 'web' } } })
    })
    await viaRelay().setWeights(allOn('green'), toGreen)
    expect(relay.requests.filter((q) => q.method === 'PATCH').map((q) => q.status)).toEqual([
      409, 200
    ])
    const svc = await scene.service(ns, 'shop')
    expect(svc.spec.selector.slot).toBe('green')
    expect(svc.metadata.labels).toEqual({ team: 'web' })
  })

  it('stops when another writer moved the HTTPRoute weights between read and patch', async () => {
    relay.raceNextPatch(path.httpRoute('shop'), async () => {
      const route = await scene.httpRoute(ns, 'shop')
      route.spec.rules[0].backendRefs[1].weight = 30
      await otherWriter(path.httpRoute('shop'), { spec: { rules: route.spec.rules } })
    })
    await expect(
      viaRelay({ httproute: 'shop' }).setWeights(split('green', 5), toGreen)
    ).rejects.toThrow(new RegExp(`HTTPRoute ${ns}/shop was changed by someone else`))
    expect((await scene.httpRoute(ns, 'shop')).spec.rules[0].backendRefs[1].weight).toBe(30)
  })
})

describe('canary on a Gateway API HTTPRoute (the release CRDs, validated by the API server)', () => {
  it.each([5, 25, 50, 100])(
    'sets green to %i%% on the slot backendRefs and reads it back',
    async (percent) => {
      const r = router({ httproute: 'shop' })
      await r.setWeights(split('green', percent), toGreen)
      const route = await scene.httpRoute(ns, 'shop')
      expect(route.spec.rules[0].backendRefs).toEqual([
        expect.objectContaining({ name: 'shop-blue', port: 80, weight: 100 - percent }),
        expect.objectContaining({ name: 'shop-green', port: 80, weight: percent })
      ])
      expect((await r.read()).weights).toEqual(split('green', percent))
      expect(route.metadata.annotations['ops-actions.io/previous-slot']).toBe('blue')
    }
  )
})

describe('canary on an ingress-nginx canary Ingress', () => {
  it('walks 5/25/50 on canary-weight with the selector on blue, then promotes by moving the selector', async () => {
    const r = router({ 'canary-ingress': 'shop-canary' })
    expect((await r.read()).weights).toEqual({ blue: 100, green: 0 })
    const weight = async (): Promise<string> =>
      (await scene.ingress(ns, 'shop-canary')).metadata.annotations[
        'nginx.ingress.kubernetes.io/canary-weight'
      ]
    for (const percent of [5, 25, 50]) {
      await r.setWeights(split('green', percent), toGreen)
      expect(await weight()).toBe(String(percent))
      expect((await scene.service(ns, 'shop')).spec.selector.slot).toBe('blue')
      expect((await r.read()).weights).toEqual(split('green', percent))
    }
    await r.setWeights(allOn('green'), toGreen)
    expect((await scene.service(ns, 'shop')).spec.selector.slot).toBe('green')
    expect(await weight()).toBe('0')
    expect(await r.read()).toMatchObject({ weights: { blue: 0, green: 100 }, previous: 'blue' })
  })
})

describe('prepareSlot: image on the idle Deployment, rolled out by the real controller', () => {
  it('sets the image and returns once the Deployment controller reports the rollout done', async () => {
    await router().prepareSlot('green', 'registry.example/shop:2.0.0', 60_000)
    const d = await scene.deployment(ns, 'shop-green')
    expect(d.spec.template.spec.containers[0].image).toBe('registry.example/shop:2.0.0')
    expect(d.status.observedGeneration).toBe(d.metadata.generation)
    expect(d.status.updatedReplicas).toBe(2)
    expect(d.status.availableReplicas).toBe(2)
    expect((await scene.deployment(ns, 'shop-blue')).spec.template.spec.containers[0].image).toBe(
      'registry.k8s.io/e2e-test-images/agnhost:2.43'
    )
  })

  it('fails after the timeout when the new pods never become ready', async () => {
    const image = `registry.example/shop${STUCK_IMAGE_SUFFIX}`
    const error = await router()
      .prepareSlot('green', image, 3000)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ToolError)
    expect((error as Error).message).toMatch(
      /rollout of registry.example\/shop:never-ready not finished after 3.0s \(1\/2 updated/
    )
  })

  it('fails with ProgressDeadlineExceeded when the controller gives up on the rollout', async () => {
    await otherWriter(path.deployment('shop-green'), { spec: { progressDeadlineSeconds: 2 } })
    await scene.rolledOut(ns, 'shop-green')
    const error = await router()
      .prepareSlot('green', `registry.example/shop${STUCK_IMAGE_SUFFIX}`, 60_000)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ToolError)
    expect((error as Error).message).toMatch(
      /rollout of registry.example\/shop:never-ready failed: progress deadline exceeded.*has timed out progressing/
    )
  })

  it('refuses to change the image of the live slot', async () => {
    await expect(router().prepareSlot('blue', 'registry.example/shop:2.0.0')).rejects.toThrow(
      /slot blue takes 100% of traffic/
    )
    expect((await scene.deployment(ns, 'shop-blue')).metadata.generation).toBe(1)
  })

  it('needs `container` when the pod has several, and patches the named one', async () => {
    const d = await scene.deployment(ns, 'shop-green')
    const containers = [{ name: 'proxy', image: 'envoy:1' }, ...d.spec.template.spec.containers]
    await scene.kube.api.call(
      'PATCH',
      path.deployment('shop-green'),
      { spec: { template: { spec: { containers } } } },
      'application/strategic-merge-patch+json'
    )
    await scene.rolledOut(ns, 'shop-green')
    const names = (await scene.deployment(ns, 'shop-green')).spec.template.spec.containers.map(
      (c: { name: string }) => c.name
    )
    await expect(router().prepareSlot('green', 'registry.example/shop:2.0.0')).rejects.toThrow(
      new RegExp(`2 containers \\(${names.join(', ')}\\); set input \`container\``)
    )
    await router({ container: 'shop' }).prepareSlot('green', 'registry.example/shop:2.0.0', 60_000)
    const images = (await scene.deployment(ns, 'shop-green')).spec.template.spec.containers.map(
      (c: { name: string; image: string }) => `${c.name}=${c.image}`
    )
    expect(images.sort()).toEqual(['proxy=envoy:1', 'shop=registry.example/shop:2.0.0'])
  })
})

describe('lock: a lease annotation written with resourceVersion', () => {
  const holder = async (p: string): Promise<string | undefined> =>
    (await scene.kube.api.get(p)).metadata.annotations?.[LOCK_ANNOTATION]

  it('lets one run in; the other waits, then fails naming the holder; then it is free', async () => {
    const release = await router().lock('run 1', 1000)
    expect(JSON.parse((await holder(path.service('shop')))!).owner).toBe('run 1')
    const error = await router()
      .lock('run 2', 300)
      .catch((e: unknown) => e)
    expect((error as Error).message).toMatch(
      /another run holds the router lock \(run 1 .*changed nothing/
    )
    await release()
    expect(await holder(path.service('shop'))).toBeUndefined()
    const second = await router().lock('run 2', 300)
    await second()
  })

  it('a waiting run gets the lock once the holder releases it', async () => {
    const release = await router().lock('run 1', 1000)
    const waiting = router().lock('run 2', 10_000)
    setTimeout(() => void release(), 300)
    const second = await waiting
    expect(JSON.parse((await holder(path.service('shop')))!).owner).toBe('run 2')
    await second()
  })

  it.each([2, 5])('of %i runs racing for a free lock exactly one wins', async (runs) => {
    const results = await Promise.allSettled(
      Array.from({ length: runs }, (_, i) => router().lock(`run ${i}`, 0))
    )
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
    await otherWriter(path.service('shop'), {
      metadata: { annotations: { [LOCK_ANNOTATION]: JSON.stringify(stale) } }
    })
    const release = await router().lock('run 2', 0)
    expect(logged.join('\n')).toMatch(/taking over the stale lock of killed run/)
    await release()
  })

  it('renews its lease, and a switch under the lock gets over the renewal conflict', async () => {
    const r = router()
    const release = await r.lock('run 1', 0)
    const first = JSON.parse((await holder(path.service('shop')))!).expires
    // renewals every 300 ms: wait (bounded) for one; a loaded API server can take longer than 1 s
    const expires = async (): Promise<string> =>
      JSON.parse((await holder(path.service('shop')))!).expires
    for (let i = 0; i < 100 && (await expires()) <= first; i++)
      await new Promise((r) => setTimeout(r, 100))
    expect((await expires()) > first).toBe(true)
    // Renewals (every 300 ms) keep moving the resourceVersion under the switch.
    await r.setWeights(allOn('green'), toGreen)
    expect((await scene.service(ns, 'shop')).spec.selector.slot).toBe('green')
    expect(await holder(path.service('shop'))).toBeDefined()
    await release()
  })

  it('locks the HTTPRoute when one is configured', async () => {
    const release = await router({ httproute: 'shop' }).lock('run 1', 0)
    expect(await holder(path.httpRoute('shop'))).toBeDefined()
    await release()
  })
})
