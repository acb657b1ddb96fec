/**
 * The scene for tests against the lab's real API server: one control plane per test file
 * (lab/services/kube.ts), a fresh namespace per test with the objects of examples/kubernetes
 * applied as a user would `kubectl apply -f` them, and kubeconfigs for the admin and for
 * service accounts.
 */
import { readFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import type { KubeDoc } from '../../lab/kube-api.js'
import { Lab } from '../../lab/lab.js'
import { startKube, type KubeCluster } from '../../lab/services/kube.js'

const EXAMPLES = new URL('../../examples/kubernetes/', import.meta.url)

export function example(file: string): KubeDoc[] {
  const docs = parseAllDocuments(readFileSync(new URL(file, EXAMPLES), 'utf8'))
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`)
  return docs.map((d) => d.toJS() as KubeDoc)
}

export interface Scene {
  lab: Lab
  kube: KubeCluster
  /** A new namespace with the example objects applied and both Deployments rolled out. */
  namespace(files?: string[]): Promise<string>
  deployment(ns: string, name: string): Promise<KubeDoc>
  service(ns: string, name: string): Promise<KubeDoc>
  httpRoute(ns: string, name: string): Promise<KubeDoc>
  ingress(ns: string, name: string): Promise<KubeDoc>
  /** Waits until the Deployment's controller reports every replica updated and available. */
  rolledOut(ns: string, name: string): Promise<void>
  stop(): Promise<void>
}

let counter = 0

export async function startScene(): Promise<Scene> {
  const lab = Lab.create('ops-kube-')
  let kube: KubeCluster
  try {
    kube = await startKube(lab)
  } catch (error) {
    await lab.stop()
    throw error
  }
  const { api } = kube
  const get = (group: string, plural: string) => (ns: string, name: string) =>
    api.get(`${group}/namespaces/${ns}/${plural}/${name}`)
  const deployment = get('/apis/apps/v1', 'deployments')
  const rolledOut = (ns: string, name: string): Promise<void> =>
    api.waitFor(
      `Deployment ${ns}/${name} rolled out`,
      async () => {
        const d = await deployment(ns, name)
        const s = d.status ?? {}
        const want = d.spec?.replicas ?? 1
        return (
          s.observedGeneration === d.metadata.generation &&
          // The API server omits zero counts.
          (s.updatedReplicas ?? 0) === want &&
          (s.availableReplicas ?? 0) === want &&
          (s.replicas ?? 0) === want
        )
      },
      60_000
    )
  return {
    lab,
    kube,
    async namespace(files = ['bluegreen.yaml', 'httproute.yaml', 'ingress-nginx-canary.yaml']) {
      const ns = `t${process.pid % 10000}-${++counter}`
      await api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })
      // Pods need the namespace's default service account, which the controller-manager makes.
      await api.waitFor(`service account ${ns}/default`, async () => {
        const a = await api.call('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)
        return a.status === 200
      })
      for (const file of files) await api.applyAll(example(file), ns)
      if (files.includes('bluegreen.yaml')) {
        await rolledOut(ns, 'shop-blue')
        await rolledOut(ns, 'shop-green')
      }
      return ns
    },
    deployment,
    service: get('/api/v1', 'services'),
    httpRoute: get('/apis/gateway.networking.k8s.io/v1', 'httproutes'),
    ingress: get('/apis/networking.k8s.io/v1', 'ingresses'),
    rolledOut,
    stop: () => lab.stop()
  }
}
