/**
 * The bundled deploy-bluegreen (actions/deploy-bluegreen/dist) with router `kubernetes`, run
 * through the runner protocol against the fake API server, on the objects of
 * examples/kubernetes as they are written. Proves the bundle, the inputs and the examples fit
 * the router and the API contract; the kind workflow proves the same on a real cluster.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseAllDocuments } from 'yaml'
import { runAction } from '../../lab/runner.js'
import { startFakeKubeApi, writeKubeconfig, type FakeKubeApi, type Obj } from '../fakes/kube-api.js'

const EXAMPLES = new URL('../../examples/kubernetes/', import.meta.url)
const API_VERSIONS: Record<string, string> = {
  Deployment: 'apps/v1',
  Service: 'v1',
  ServiceAccount: 'v1',
  Role: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
  Gateway: 'gateway.networking.k8s.io/v1',
  HTTPRoute: 'gateway.networking.k8s.io/v1',
  Ingress: 'networking.k8s.io/v1'
}

function example(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(new URL(file, EXAMPLES), 'utf8'))
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`)
  return docs.map((d) => d.toJS() as Obj)
}

const FILES = ['bluegreen.yaml', 'httproute.yaml', 'ingress-nginx-canary.yaml', 'rbac.yaml']

describe('examples/kubernetes', () => {
  it.each(FILES)('%s is YAML of known kinds with the right apiVersion and no namespace', (file) => {
    for (const obj of example(file)) {
      expect(API_VERSIONS[obj.kind]).toBe(obj.apiVersion)
      expect(obj.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
      expect(obj.metadata.namespace).toBeUndefined()
    }
  })

  it('each Deployment matches its own pods, and the slot Services select exactly one slot', () => {
    const objs = example('bluegreen.yaml')
    for (const d of objs.filter((o) => o.kind === 'Deployment')) {
      expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels)
    }
    const svc = (name: string): Obj =>
      objs.find((o) => o.kind === 'Service' && o.metadata.name === name)!
    expect(svc('shop-blue').spec.selector).toEqual({ app: 'shop', slot: 'blue' })
    expect(svc('shop-green').spec.selector).toEqual({ app: 'shop', slot: 'green' })
  })
})

describe('deploy-bluegreen bundle, router kubernetes, on the fake API server', () => {
  let api: FakeKubeApi
  let health: Server
  let healthUrl: string
  let kubeconfig: string

  beforeAll(async () => {
    api = await startFakeKubeApi({ rolloutDelayMs: 100 })
    kubeconfig = writeKubeconfig(api.url, api.token)
    // Stands in for each slot's health endpoint (the kind workflow reaches real pods).
    health = createServer((_req, res) => res.end('ok'))
    await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve))
    healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/healthz`
  })
  afterAll(async () => {
    await api.close()
    await new Promise((resolve) => health.close(resolve))
  })
  beforeEach(() => {
    api.objects.clear()
    for (const file of ['bluegreen.yaml', 'httproute.yaml', 'ingress-nginx-canary.yaml']) {
      for (const obj of example(file)) if (obj.kind !== 'Gateway') api.put(obj)
    }
  })

  const common = (): Record<string, string> => ({
    router: 'kubernetes',
    kubeconfig,
    app: 'shop',
    'health-url-blue': healthUrl,
    'health-url-green': healthUrl,
    'health-checks': '1',
    'health-interval': '100ms'
  })

  it('switches the Service to green with a new image, then rolls back; the token stays masked', async () => {
    const deploy = await runAction('deploy-bluegreen', {
      ...common(),
      mode: 'deploy',
      service: 'shop',
      image: 'registry.k8s.io/e2e-test-images/agnhost:2.47'
    })
    // Registered as a secret with the runner, and printed nowhere else.
    expect(deploy.masks).toContain(api.token)
    expect(deploy.stdout.replace(`::add-mask::${api.token}`, '')).not.toContain(api.token)
    expect(deploy.exitCode).toBe(0)
    expect(deploy.outputs).toMatchObject({
      'live-slot': 'green',
      'previous-slot': 'blue',
      switched: 'true'
    })
    expect(api.get('Service', 'shop').spec.selector).toEqual({ app: 'shop', slot: 'green' })
    expect(api.get('Deployment', 'shop-green').spec.template.spec.containers[0].image).toBe(
      'registry.k8s.io/e2e-test-images/agnhost:2.47'
    )
    expect(api.get('Deployment', 'shop-blue').spec.template.spec.containers[0].image).toBe(
      'registry.k8s.io/e2e-test-images/agnhost:2.43'
    )
    // The lock was taken and given back.
    expect(api.get('Service', 'shop').metadata.annotations['ops-actions.io/lock']).toBeUndefined()

    const rollback = await runAction('deploy-bluegreen', {
      ...common(),
      mode: 'rollback',
      service: 'shop'
    })
    expect(rollback.exitCode).toBe(0)
    expect(rollback.outputs['live-slot']).toBe('blue')
    expect(api.get('Service', 'shop').spec.selector.slot).toBe('blue')
    // The record names the slot returned to: a second rollback is refused, never undoes this one.
    expect(api.get('Service', 'shop').metadata.annotations['ops-actions.io/previous-slot']).toBe(
      'blue'
    )
  })

  it('switches the HTTPRoute weights of examples/kubernetes/httproute.yaml', async () => {
    const run = await runAction('deploy-bluegreen', {
      ...common(),
      mode: 'deploy',
      httproute: 'shop'
    })
    expect(run.exitCode).toBe(0)
    expect(api.get('HTTPRoute', 'shop').spec.rules[0].backendRefs).toEqual([
      { name: 'shop-blue', port: 80, weight: 0 },
      { name: 'shop-green', port: 80, weight: 100 }
    ])
    // The selector-switched Service is not this router's business when an HTTPRoute is given.
    expect(api.get('Service', 'shop').spec.selector.slot).toBe('blue')
  })

  it('switches with the ingress-nginx canary example: selector moves, canary weight stays 0', async () => {
    const run = await runAction('deploy-bluegreen', {
      ...common(),
      mode: 'deploy',
      service: 'shop',
      'canary-ingress': 'shop-canary'
    })
    expect(run.exitCode).toBe(0)
    expect(api.get('Service', 'shop').spec.selector.slot).toBe('green')
    expect(
      api.get('Ingress', 'shop-canary').metadata.annotations[
        'nginx.ingress.kubernetes.io/canary-weight'
      ]
    ).toBe('0')
  })

  it('exits 2 on a bad input and contacts nothing', async () => {
    const before = api.requests.length
    const run = await runAction('deploy-bluegreen', {
      ...common(),
      mode: 'deploy',
      app: 'Shop_App'
    })
    expect(run.exitCode).toBe(2)
    expect(run.stdout).toMatch(/input `app` = `Shop_App`/)
    expect(api.requests.length).toBe(before)
  })

  it('exits 3 with the API server answer when the image never rolls out, and moves no traffic', async () => {
    const stuck = await startFakeKubeApi({
      rolloutDelayMs: 50,
      stuckImages: ['registry.example/shop:broken']
    })
    try {
      for (const obj of example('bluegreen.yaml')) stuck.put(obj)
      const run = await runAction('deploy-bluegreen', {
        ...common(),
        kubeconfig: writeKubeconfig(stuck.url, stuck.token),
        mode: 'deploy',
        service: 'shop',
        image: 'registry.example/shop:broken',
        'rollout-timeout': '1s'
      })
      expect(run.exitCode).toBe(3)
      expect(run.stdout).toMatch(/rollout of registry.example\/shop:broken not finished after 1.0s/)
      expect(stuck.get('Service', 'shop').spec.selector.slot).toBe('blue')
    } finally {
      await stuck.close()
    }
  })
})
