/**
 * charts/sample-service with the real Helm (built from helm.sh/helm/v3): lint, template, and an
 * install into the lab's real API server, whose controller rolls the slots out; then the
 * release flow the chart is laid out for: `helm upgrade` of the idle slot's image, the router's
 * switch, and another upgrade that must not move traffic back.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { enginePath } from '../../lab/engines.js'
import type { KubeDoc } from '../../lab/kube-api.js'
import { Lab } from '../../lab/lab.js'
import { kubeVersion } from '../../lab/services/kube.js'
import { Inputs } from '../../src/core/inputs.js'
import { readKubernetesConfig } from '../../src/actions/release-inputs/kubernetes.js'
import { KubernetesRouter } from '../../src/traffic/kubernetes.js'
import { allOn, split } from '../../src/traffic/slots.js'
import { startScene, type Scene } from './scene.js'

const CHART = fileURLToPath(new URL('../../charts/sample-service', import.meta.url))
let scene: Scene
const lab = Lab.create('ops-helm-')
// A Helm built with `go install` lacks the release's ldflags and assumes Kubernetes v1.20 when
// it has no cluster; render for the version the lab runs.
const KUBE_VERSION = ['--kube-version', kubeVersion()]

interface Run {
  code: number
  stdout: string
  stderr: string
}

function helm(args: string[], kubeconfig?: string): Promise<Run> {
  const home = lab.mkdir('helm')
  const env = {
    ...process.env,
    HELM_CACHE_HOME: `${home}/cache`,
    HELM_CONFIG_HOME: `${home}/config`,
    HELM_DATA_HOME: `${home}/data`,
    ...(kubeconfig ? { KUBECONFIG: kubeconfig } : { KUBECONFIG: `${home}/none` })
  }
  return new Promise((resolve) => {
    execFile(enginePath('helm'), args, { env, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

function docs(text: string): KubeDoc[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeDoc | null)
    .filter((d): d is KubeDoc => d !== null)
}

afterAll(async () => {
  await lab.stop()
})

describe('charts/sample-service, offline', () => {
  it('passes helm lint --strict', async () => {
    const run = await helm(['lint', '--strict', CHART])
    expect(run.stderr + run.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/)
    expect(run.code).toBe(0)
  })

  it('renders the two slots, the live Service on blue, the slot Services and the scrape job', async () => {
    const run = await helm([
      'template',
      'shop',
      CHART,
      ...KUBE_VERSION,
      '--set',
      'httpRoute.enabled=true'
    ])
    expect(run.code).toBe(0)
    const objs = docs(run.stdout)
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/shop-scrape',
      'Deployment/shop-blue',
      'Deployment/shop-green',
      'HTTPRoute/shop',
      'Service/shop',
      'Service/shop-blue',
      'Service/shop-green'
    ])
    const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'shop')!
    expect(svc.spec.selector).toEqual({ app: 'shop', slot: 'blue' })
    for (const d of objs.filter((o) => o.kind === 'Deployment')) {
      expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels)
    }
    const route = objs.find((o) => o.kind === 'HTTPRoute')!
    expect(route.spec.rules[0].backendRefs).toEqual([
      { name: 'shop-blue', port: 80, weight: 100 },
      { name: 'shop-green', port: 80, weight: 0 }
    ])
    const scrape = objs.find((o) => o.kind === 'ConfigMap')!
    expect(docs(scrape.data['scrape.yml'])[0].scrape_configs[0].job_name).toBe('shop')
    // No ServiceMonitor unless the cluster serves the CRD (none under plain `helm template`).
    expect(objs.some((o) => o.kind === 'ServiceMonitor')).toBe(false)
    const withCrd = await helm([
      'template',
      'shop',
      CHART,
      ...KUBE_VERSION,
      '--api-versions',
      'monitoring.coreos.com/v1/ServiceMonitor'
    ])
    expect(docs(withCrd.stdout).some((o) => o.kind === 'ServiceMonitor')).toBe(true)
  })

  it.each([
    [['--set', 'app=Shop_App'], /app "Shop_App": expected a DNS-1035 label/],
    [['--set', 'liveSlot=red'], /liveSlot "red": expected blue or green/],
    [
      ['--set', 'green.image.tag='],
      /green.image.repository and green.image.tag \(or green.image.digest\) are required/
    ],
    [
      ['--set-string', 'blue.image.digest=sha256:abc,blue.image.tag='],
      /blue.image.digest "sha256:abc": expected sha256:<64 hex digits>/
    ]
  ])('refuses hostile values %j', async (args, message) => {
    const run = await helm(['template', 'shop', CHART, ...KUBE_VERSION, ...args])
    expect(run.code).not.toBe(0)
    expect(run.stderr).toMatch(message)
  })
})

describe('charts/sample-service on the real API server', () => {
  beforeAll(async () => {
    scene = await startScene()
  }, 300_000)
  afterAll(async () => {
    await scene?.stop()
  })

  it('installs into the real API server; upgrade of the idle slot, switch, and upgrades keep traffic where the router put it', async () => {
    const ns = await scene.namespace([])
    const kubeconfig = scene.kube.kubeconfig
    const install = await helm(
      [
        'install',
        'shop',
        CHART,
        '--namespace',
        ns,
        '--set',
        'httpRoute.enabled=true',
        '--wait',
        '--timeout',
        '90s'
      ],
      kubeconfig
    )
    expect(install.stderr).toBe('')
    expect(install.code).toBe(0)
    await scene.rolledOut(ns, 'shop-blue')
    await scene.rolledOut(ns, 'shop-green')
    expect((await scene.service(ns, 'shop')).spec.selector).toEqual({ app: 'shop', slot: 'blue' })

    // The idle slot gets the new image through Helm, the real controller rolls it out ...
    const upgrade = await helm(
      [
        'upgrade',
        'shop',
        CHART,
        '--namespace',
        ns,
        '--reuse-values',
        '--set',
        'green.image.tag=2.47',
        '--wait',
        '--timeout',
        '90s'
      ],
      kubeconfig
    )
    expect(upgrade.code).toBe(0)
    await scene.rolledOut(ns, 'shop-green')
    expect((await scene.deployment(ns, 'shop-green')).spec.template.spec.containers[0].image).toBe(
      'registry.k8s.io/e2e-test-images/agnhost:2.47'
    )
    // Helm kept the route's weights as they were, 0 included.
    expect((await scene.httpRoute(ns, 'shop')).spec.rules[0].backendRefs).toEqual([
      expect.objectContaining({ name: 'shop-blue', weight: 100 }),
      expect.objectContaining({ name: 'shop-green', weight: 0 })
    ])
    // ... then the router switches the Service, and walks the HTTPRoute.
    const all: Record<string, string> = { app: 'shop', kubeconfig, namespace: ns }
    const router = (values: Record<string, string> = {}) =>
      new KubernetesRouter(
        readKubernetesConfig(new Inputs((name) => ({ ...all, ...values })[name] ?? ''))
      )
    await router().setWeights(allOn('green'), { previous: 'blue', reason: 'test' })
    await router({ httproute: 'shop' }).setWeights(split('green', 25), {
      previous: 'blue',
      reason: 'test'
    })

    // A later upgrade (new blue image for the next release) leaves both where the router put them.
    const again = await helm(
      [
        'upgrade',
        'shop',
        CHART,
        '--namespace',
        ns,
        '--reuse-values',
        '--set',
        'blue.image.tag=2.48',
        '--wait',
        '--timeout',
        '90s'
      ],
      kubeconfig
    )
    expect(again.code).toBe(0)
    const svc = await scene.service(ns, 'shop')
    expect(svc.spec.selector.slot).toBe('green')
    expect(svc.metadata.annotations['ops-actions.io/previous-slot']).toBe('blue')
    expect((await scene.httpRoute(ns, 'shop')).spec.rules[0].backendRefs).toEqual([
      expect.objectContaining({ name: 'shop-blue', weight: 75 }),
      expect.objectContaining({ name: 'shop-green', weight: 25 })
    ])
    expect((await router().read()).weights).toEqual({ blue: 0, green: 100 })
  })
})
