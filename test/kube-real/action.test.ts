/**
 * The bundled deploy-bluegreen (actions/deploy-bluegreen/dist) with router `kubernetes`, run
 * through the runner protocol against the lab's real API server, on examples/kubernetes as
 * written, and as the examples' least-privilege service account (rbac.yaml) with a bound
 * token, so the real RBAC authorizer decides every request.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { runAction } from '../../lab/runner.js'
import { startPrometheus, type PrometheusInstance } from '../../lab/services/prometheus.js'
import { STUCK_IMAGE_SUFFIX } from '../../lab/services/kube.js'
import { Inputs } from '../../src/core/inputs.js'
import { readKubernetesConfig } from '../../src/actions/release-inputs/kubernetes.js'
import { KubernetesRouter } from '../../src/traffic/kubernetes.js'
import { startScene, type Scene } from './scene.js'

let scene: Scene
let health: Server
let healthUrl: string

beforeAll(async () => {
  scene = await startScene()
  // Stands in for each slot's health endpoint: KWOK's pods run no containers to answer.
  health = createServer((_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve))
  healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/healthz`
}, 300_000)
afterAll(async () => {
  await new Promise((resolve) => health?.close(resolve))
  await scene?.stop()
})

const common = (kubeconfig: string, namespace: string): Record<string, string> => ({
  router: 'kubernetes',
  kubeconfig,
  namespace,
  app: 'shop',
  'health-url-blue': healthUrl,
  'health-url-green': healthUrl,
  'health-checks': '1',
  'health-interval': '100ms'
})

describe('deploy-bluegreen bundle, router kubernetes, on the real API server', () => {
  it('switches the Service to green with a rolled-out new image, then rolls back; the token stays masked', async () => {
    const ns = await scene.namespace()
    const deploy = await runAction('deploy-bluegreen', {
      ...common(scene.kube.kubeconfig, ns),
      mode: 'deploy',
      service: 'shop',
      image: 'registry.k8s.io/e2e-test-images/agnhost:2.47',
      'rollout-timeout': '60s'
    })
    expect(deploy.masks).toContain(scene.kube.adminToken)
    expect(deploy.stdout.replace(`::add-mask::${scene.kube.adminToken}`, '')).not.toContain(
      scene.kube.adminToken
    )
    expect(deploy.exitCode).toBe(0)
    expect(deploy.outputs).toMatchObject({
      'live-slot': 'green',
      'previous-slot': 'blue',
      switched: 'true'
    })
    const svc = await scene.service(ns, 'shop')
    expect(svc.spec.selector).toEqual({ app: 'shop', slot: 'green' })
    expect(svc.metadata.annotations['ops-actions.io/lock']).toBeUndefined()
    const green = await scene.deployment(ns, 'shop-green')
    expect(green.spec.template.spec.containers[0].image).toBe(
      'registry.k8s.io/e2e-test-images/agnhost:2.47'
    )
    // The real controller rolled it out before traffic moved.
    expect(green.status).toMatchObject({ updatedReplicas: 2, availableReplicas: 2 })
    expect((await scene.deployment(ns, 'shop-blue')).spec.template.spec.containers[0].image).toBe(
      'registry.k8s.io/e2e-test-images/agnhost:2.43'
    )

    const rollback = await runAction('deploy-bluegreen', {
      ...common(scene.kube.kubeconfig, ns),
      mode: 'rollback',
      service: 'shop'
    })
    expect(rollback.exitCode).toBe(0)
    expect(rollback.outputs['live-slot']).toBe('blue')
    const after = await scene.service(ns, 'shop')
    expect(after.spec.selector.slot).toBe('blue')
    // The record names the slot returned to: a second rollback is refused, never undoes this one.
    expect(after.metadata.annotations['ops-actions.io/previous-slot']).toBe('blue')
  })

  it('switches the HTTPRoute weights of examples/kubernetes/httproute.yaml', async () => {
    const ns = await scene.namespace()
    const run = await runAction('deploy-bluegreen', {
      ...common(scene.kube.kubeconfig, ns),
      mode: 'deploy',
      httproute: 'shop'
    })
    expect(run.exitCode).toBe(0)
    expect((await scene.httpRoute(ns, 'shop')).spec.rules[0].backendRefs).toEqual([
      expect.objectContaining({ name: 'shop-blue', port: 80, weight: 0 }),
      expect.objectContaining({ name: 'shop-green', port: 80, weight: 100 })
    ])
    expect((await scene.service(ns, 'shop')).spec.selector.slot).toBe('blue')
  })

  it('switches with the ingress-nginx canary example: selector moves, canary weight stays 0', async () => {
    const ns = await scene.namespace()
    const run = await runAction('deploy-bluegreen', {
      ...common(scene.kube.kubeconfig, ns),
      mode: 'deploy',
      service: 'shop',
      'canary-ingress': 'shop-canary'
    })
    expect(run.exitCode).toBe(0)
    expect((await scene.service(ns, 'shop')).spec.selector.slot).toBe('green')
    expect(
      (await scene.ingress(ns, 'shop-canary')).metadata.annotations[
        'nginx.ingress.kubernetes.io/canary-weight'
      ]
    ).toBe('0')
  })

  it('exits 3 when the image never rolls out, and moves no traffic', async () => {
    const ns = await scene.namespace(['bluegreen.yaml'])
    const run = await runAction('deploy-bluegreen', {
      ...common(scene.kube.kubeconfig, ns),
      mode: 'deploy',
      service: 'shop',
      image: `registry.example/shop${STUCK_IMAGE_SUFFIX}`,
      'rollout-timeout': '3s'
    })
    expect(run.exitCode).toBe(3)
    expect(run.stdout).toMatch(
      /rollout of registry.example\/shop:never-ready not finished after 3.0s/
    )
    expect((await scene.service(ns, 'shop')).spec.selector.slot).toBe('blue')
  })
})

describe('canary-promote bundle on the HTTPRoute, SLOs from a real Prometheus (constant PromQL)', () => {
  let prometheus: PrometheusInstance
  beforeAll(async () => {
    prometheus = await startPrometheus(scene.lab, { targets: [] })
  }, 60_000)
  const inputs = (ns: string, errors: string): Record<string, string> => ({
    router: 'kubernetes',
    kubeconfig: scene.kube.kubeconfig,
    namespace: ns,
    app: 'shop',
    httproute: 'shop',
    'prometheus-url': prometheus.url,
    steps: '10,50,100',
    'step-duration': '1s',
    'analysis-interval': '1s',
    'min-requests': '1',
    'compare-with-stable': 'false',
    'request-count-query': 'vector(100)',
    'error-rate-query': `vector(${errors})`,
    'latency-query': 'vector(0.05)',
    // constant counts for the router's weights: the statistics are tested elsewhere
    'error-judgement': 'point'
  })
  const weights = async (ns: string): Promise<number[]> =>
    (await scene.httpRoute(ns, 'shop')).spec.rules[0].backendRefs.map(
      (b: { weight: number }) => b.weight
    )

  it('promotes through 10 -> 50 -> 100 on the backendRef weights, then abort restores blue', async () => {
    const ns = await scene.namespace(['bluegreen.yaml', 'httproute.yaml'])
    const r = await runAction('canary-promote', inputs(ns, '0'))
    expect(r.annotations.filter((a) => a.level === 'error')).toEqual([])
    expect(r.exitCode).toBe(0)
    expect(r.outputs).toMatchObject({ result: 'promoted', 'final-weight': '100' })
    expect(await weights(ns)).toEqual([0, 100])
    const decisions = JSON.parse(r.outputs.decisions) as { weight: number }[]
    expect(decisions.map((d) => d.weight)).toEqual([10, 50, 100])
    const abort = await runAction('canary-promote', {
      router: 'kubernetes',
      kubeconfig: scene.kube.kubeconfig,
      namespace: ns,
      app: 'shop',
      httproute: 'shop',
      mode: 'abort'
    })
    expect(abort.exitCode).toBe(0)
    expect(await weights(ns)).toEqual([100, 0])
  })

  it('aborts at the first step when the error rate breaches, leaving the canary at weight 0', async () => {
    const ns = await scene.namespace(['bluegreen.yaml', 'httproute.yaml'])
    const r = await runAction('canary-promote', inputs(ns, '5'))
    expect(r.exitCode).toBe(1)
    expect(r.outputs).toMatchObject({ result: 'aborted', 'failed-check': 'error rate' })
    expect(await weights(ns)).toEqual([100, 0])
  })
})

describe('the least-privilege Role of examples/kubernetes/rbac.yaml, enforced by the real RBAC', () => {
  async function deployer(): Promise<{ ns: string; kubeconfig: string; token: string }> {
    const ns = await scene.namespace([
      'bluegreen.yaml',
      'httproute.yaml',
      'ingress-nginx-canary.yaml',
      'rbac.yaml'
    ])
    const token = await scene.kube.api.serviceAccountToken(ns, 'shop-deployer', 900)
    expect(token).not.toBe('')
    return { ns, token, kubeconfig: scene.kube.kubeconfigFor(token, `deployer-${ns}`, ns) }
  }

  it('is enough for a deploy with image, lock and switch, and for a rollback', async () => {
    const { ns, kubeconfig, token } = await deployer()
    const deploy = await runAction('deploy-bluegreen', {
      ...common(kubeconfig, ns),
      mode: 'deploy',
      service: 'shop',
      image: 'registry.k8s.io/e2e-test-images/agnhost:2.47',
      'rollout-timeout': '60s'
    })
    expect(deploy.stdout.replace(`::add-mask::${token}`, '')).not.toContain(token)
    expect(deploy.exitCode).toBe(0)
    expect((await scene.service(ns, 'shop')).spec.selector.slot).toBe('green')
    const rollback = await runAction('deploy-bluegreen', {
      ...common(kubeconfig, ns),
      mode: 'rollback',
      service: 'shop'
    })
    expect(rollback.exitCode).toBe(0)
    expect((await scene.service(ns, 'shop')).spec.selector.slot).toBe('blue')
  })

  it('is enough for the HTTPRoute and canary Ingress routers', async () => {
    const { ns, kubeconfig } = await deployer()
    for (const extra of [
      { httproute: 'shop' },
      { service: 'shop', 'canary-ingress': 'shop-canary' }
    ] as Record<string, string>[]) {
      const run = await runAction('deploy-bluegreen', {
        ...common(kubeconfig, ns),
        mode: 'deploy',
        ...extra
      })
      expect(run.exitCode).toBe(0)
    }
  })

  it('refuses what the Role does not name: another Service, another namespace (403 with a hint)', async () => {
    const { ns, kubeconfig } = await deployer()
    await scene.kube.api.apply(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'other' },
        spec: { selector: { app: 'other', slot: 'blue' }, ports: [{ port: 80 }] }
      },
      ns
    )
    const inputs = (values: Record<string, string>) => {
      const all: Record<string, string> = { app: 'shop', kubeconfig, namespace: ns, ...values }
      return readKubernetesConfig(new Inputs((name) => all[name] ?? ''))
    }
    await expect(new KubernetesRouter(inputs({ service: 'other' })).read()).rejects.toThrow(
      new RegExp(
        `Service ${ns}/other: API server answered 403.*RBAC: the user needs get and patch on services in namespace ${ns}`
      )
    )
    const elsewhere = await scene.namespace(['bluegreen.yaml'])
    await expect(
      new KubernetesRouter(inputs({ namespace: elsewhere, service: 'shop' })).read()
    ).rejects.toThrow(/403/)
    // And the bundle exits 3 (could not run), with the hint, changing nothing.
    const run = await runAction('deploy-bluegreen', {
      ...common(kubeconfig, ns),
      mode: 'deploy',
      service: 'other',
      app: 'shop'
    })
    expect(run.exitCode).toBe(3)
    expect(run.stdout).toMatch(/403/)
    expect((await scene.service(ns, 'other')).spec.selector.slot).toBe('blue')
  })
})
