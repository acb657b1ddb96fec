import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { enginePath, engineVersion } from '../engines.js'
import { LabKubeApi, writeTokenKubeconfig, type KubeDoc } from '../kube-api.js'
import type { Lab } from '../lab.js'
import { freePort } from '../ports.js'
import {
  KWOK_STAGES,
  LAB_NODE,
  STUCK_IMAGE_REPOSITORY,
  STUCK_IMAGE_SUFFIX
} from '../kube-stages.js'

export { STUCK_IMAGE_REPOSITORY, STUCK_IMAGE_SUFFIX }

/**
 * A real Kubernetes control plane on 127.0.0.1, built from the Go modules
 * (scripts/engines/: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, KWOK):
 * etcd -> kube-apiserver (TLS with a lab CA, static tokens, RBAC, service account tokens)
 * -> controller-manager and scheduler -> KWOK, which plays the kubelet of one fake node so
 * Deployments roll out without containers. Pods whose image ends in STUCK_IMAGE_SUFFIX run but
 * never become ready (a stuck rollout). The Gateway API CRDs are applied at start.
 */
export interface KubeCluster {
  /** https://127.0.0.1:<port> */
  server: string
  caFile: string
  ca: string
  /** A system:masters token, and a kubeconfig with it. */
  adminToken: string
  kubeconfig: string
  /** The admin client for setting up scenes. */
  api: LabKubeApi
  /** kube-apiserver's gitVersion, as the server reports it on /version. */
  version: string
  /** A kubeconfig for a token (e.g. a service account's), written into the lab. */
  kubeconfigFor(token: string, name: string, namespace?: string): string
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** A CA, the API server's serving certificate for 127.0.0.1, and the service account key. */
function makeCertificates(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  openssl(
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2'].concat([
      '-subj',
      '/CN=ops-lab-kube-ca'
    ]),
    dir
  )
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'apiserver.key',
      '-out',
      'apiserver.crt',
      '-days',
      '2',
      '-subj',
      '/CN=kube-apiserver',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc,IP:10.96.0.1',
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'extendedKeyUsage=serverAuth'
    ],
    dir
  )
  openssl(
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'sa.key'],
    dir
  )
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir)
}

function crdDocuments(): KubeDoc[] {
  const dir = enginePath('gateway-api', 'crds')
  const docs: KubeDoc[] = []
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    for (const d of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const obj = d.toJS() as KubeDoc | null
      // The release also ships a ValidatingAdmissionPolicy; the router needs only the CRDs.
      if (obj?.kind === 'CustomResourceDefinition') docs.push(obj)
    }
  }
  return docs
}

export async function startKube(lab: Lab, name = 'kube'): Promise<KubeCluster> {
  const etcd = enginePath('etcd')
  const apiserver = enginePath('kube', 'kube-apiserver')
  const controllerManager = enginePath('kube', 'kube-controller-manager')
  const scheduler = enginePath('kube', 'kube-scheduler')
  const kwok = enginePath('kwok')
  const dir = lab.mkdir(name)
  makeCertificates(dir)
  const caFile = join(dir, 'ca.crt')
  const ca = readFileSync(caFile, 'utf8')

  // etcd: loopback only, plain HTTP (nothing else can reach 127.0.0.1 in the lab).
  const [etcdClient, etcdPeer] = [await freePort(), await freePort()]
  const etcdProc = lab.spawn(`${name}-etcd`, [
    etcd,
    '--name=lab',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-cluster=lab=http://127.0.0.1:${etcdPeer}`,
    // A test cluster: losing it on a crash costs nothing, waiting for fsync costs seconds.
    '--unsafe-no-fsync'
  ])
  await etcdProc.waitReady(async () => {
    const res = await fetch(`http://127.0.0.1:${etcdClient}/health`, {
      signal: AbortSignal.timeout(1000)
    })
    return res.ok && ((await res.json()) as { health?: string }).health === 'true'
  }, 30_000)

  // Static tokens: the admin, and one identity per control-plane component (the lab gives
  // them system:masters; a production cluster gives each its bootstrap role).
  const token = (): string => randomBytes(24).toString('hex')
  const tokens = {
    admin: token(),
    'kube-controller-manager': token(),
    'kube-scheduler': token(),
    kwok: token()
  }
  writeFileSync(
    join(dir, 'tokens.csv'),
    Object.entries(tokens)
      .map(([user, t], i) => `${t},lab-${user},uid-${i},"system:masters"`)
      .join('\n') + '\n',
    { mode: 0o600 }
  )
  const port = await freePort()
  const server = `https://127.0.0.1:${port}`
  const api = new LabKubeApi(server, ca, tokens.admin)
  const apiProc = lab.spawn(`${name}-apiserver`, [
    apiserver,
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    // The kubernetes Service endpoint may not be loopback; no pod needs to reach it here.
    '--endpoint-reconciler-type=none',
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'apiserver-certs')}`,
    `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
    `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
    `--client-ca-file=${caFile}`,
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--anonymous-auth=false',
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-cluster-ip-range=10.96.0.0/24',
    '--profiling=false',
    '--v=1'
  ])
  await apiProc.waitReady(async () => (await api.call('GET', '/readyz')).status === 200, 90_000)
  const version = String((await api.get('/version')).gitVersion ?? '')

  const kubeconfigFor = (t: string, file: string, namespace = 'default'): string =>
    writeTokenKubeconfig(join(dir, `${file}.kubeconfig`), server, caFile, t, namespace)
  const kubeconfig = kubeconfigFor(tokens.admin, 'admin')

  const cmPort = await freePort()
  lab.spawn(`${name}-controller-manager`, [
    controllerManager,
    `--kubeconfig=${kubeconfigFor(tokens['kube-controller-manager'], 'controller-manager')}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${cmPort}`,
    `--cert-dir=${join(dir, 'controller-manager-certs')}`,
    '--leader-elect=false',
    // What Deployments need (rollouts, pods, service accounts, garbage collection), and not the
    // node lifecycle controller: KWOK's node has no kubelet to keep it from being tainted.
    '--controllers=deployment-controller,replicaset-controller,serviceaccount-controller,garbage-collector-controller,namespace-controller,root-ca-certificate-publisher-controller',
    `--root-ca-file=${caFile}`,
    `--service-account-private-key-file=${join(dir, 'sa.key')}`,
    '--use-service-account-credentials=false',
    '--v=1'
  ])
  const schedPort = await freePort()
  lab.spawn(`${name}-scheduler`, [
    scheduler,
    `--kubeconfig=${kubeconfigFor(tokens['kube-scheduler'], 'scheduler')}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${schedPort}`,
    '--leader-elect=false',
    '--v=1'
  ])
  const stages = join(dir, 'kwok-stages.yaml')
  writeFileSync(stages, KWOK_STAGES)
  const kwokProc = lab.spawn(`${name}-kwok`, [
    kwok,
    `--kubeconfig=${kubeconfigFor(tokens.kwok, 'kwok')}`,
    `--config=${stages}`,
    '--manage-all-nodes=true',
    '--cidr=10.244.0.0/24',
    '--node-ip=127.0.0.1',
    '--node-lease-duration-seconds=40'
  ])

  // The CRDs, then wait until the API serves them.
  for (const crd of crdDocuments()) await api.apply(crd)
  await api.waitFor('Gateway API CRDs established', async () => {
    const a = await api.call('GET', '/apis/gateway.networking.k8s.io/v1/httproutes')
    return a.status === 200
  })
  await api.apply(LAB_NODE)
  // Admission (TaintNodesByCondition) creates the node tainted not-ready; the node lifecycle
  // controller, which is not run here, would lift it once KWOK reports Ready. Do its part.
  const nodePath = `/api/v1/nodes/${LAB_NODE.metadata.name}`
  await api.waitFor('KWOK node Ready', async () => {
    const node = await api.get(nodePath)
    return node.status?.conditions?.some(
      (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'
    )
  })
  await api.call('PATCH', nodePath, { spec: { taints: null } }, 'application/merge-patch+json')

  // The whole chain works once a one-pod Deployment is available: controller-manager made the
  // ReplicaSet and the pod, the scheduler bound it to KWOK's node, KWOK made it ready.
  await api.waitFor(
    'service account default/default',
    async () =>
      (await api.call('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
    60_000
  )
  const probe: KubeDoc = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'lab-probe', namespace: 'kube-system' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'lab-probe' } },
      template: {
        metadata: { labels: { app: 'lab-probe' } },
        spec: { containers: [{ name: 'probe', image: 'lab/probe:1' }] }
      }
    }
  }
  await api.waitFor(
    'service account kube-system/default',
    async () =>
      (await api.call('GET', '/api/v1/namespaces/kube-system/serviceaccounts/default')).status ===
      200,
    60_000
  )
  await api.apply(probe)
  try {
    await api.waitFor(
      'lab-probe Deployment available (controller-manager, scheduler, KWOK)',
      async () =>
        (await api.get('/apis/apps/v1/namespaces/kube-system/deployments/lab-probe')).status
          ?.availableReplicas === 1,
      60_000
    )
  } catch (error) {
    throw new Error(`${(error as Error).message}\nkwok log:\n${kwokProc.logTail(20)}`, {
      cause: error
    })
  }
  await api.delete('/apis/apps/v1/namespaces/kube-system/deployments/lab-probe')

  return {
    server,
    caFile,
    ca,
    adminToken: tokens.admin,
    kubeconfig,
    api,
    version,
    kubeconfigFor
  }
}

/** The Kubernetes version the lab builds (scripts/engines/engines.list). */
export function kubeVersion(): string {
  return engineVersion('kube')
}
