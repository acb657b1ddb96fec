// A small admin client for the lab's real API server (lab/services/kube.ts): apply objects with
// server-side apply, read, delete, wait, and mint service account tokens. Tests use it to set
// the scene; the product's own client (src/kube/client.ts) is what they exercise.
import { request } from 'node:https'
import { writeFileSync } from 'node:fs'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KubeDoc = Record<string, any>

interface Resource {
  plural: string
  namespaced: boolean
}

/** apiVersion/kind -> REST resource, for the kinds the lab and its tests apply. */
const KINDS: Record<string, Resource> = {
  'v1/Namespace': { plural: 'namespaces', namespaced: false },
  'v1/Node': { plural: 'nodes', namespaced: false },
  'v1/ServiceAccount': { plural: 'serviceaccounts', namespaced: true },
  'v1/Service': { plural: 'services', namespaced: true },
  'v1/ConfigMap': { plural: 'configmaps', namespaced: true },
  'v1/Secret': { plural: 'secrets', namespaced: true },
  'v1/Pod': { plural: 'pods', namespaced: true },
  'apps/v1/Deployment': { plural: 'deployments', namespaced: true },
  'apps/v1/ReplicaSet': { plural: 'replicasets', namespaced: true },
  'rbac.authorization.k8s.io/v1/Role': { plural: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { plural: 'rolebindings', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { plural: 'clusterroles', namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    plural: 'clusterrolebindings',
    namespaced: false
  },
  'networking.k8s.io/v1/Ingress': { plural: 'ingresses', namespaced: true },
  'networking.k8s.io/v1/IngressClass': { plural: 'ingressclasses', namespaced: false },
  'gateway.networking.k8s.io/v1/Gateway': { plural: 'gateways', namespaced: true },
  'gateway.networking.k8s.io/v1/GatewayClass': { plural: 'gatewayclasses', namespaced: false },
  'gateway.networking.k8s.io/v1/HTTPRoute': { plural: 'httproutes', namespaced: true },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': {
    plural: 'customresourcedefinitions',
    namespaced: false
  }
}

/** The collection path (no name) or object path of a document, in `namespace` if it has none. */
export function resourcePath(doc: KubeDoc, namespace = 'default', withName = true): string {
  const apiVersion = String(doc.apiVersion ?? '')
  const r = KINDS[`${apiVersion}/${doc.kind}`]
  if (!r) throw new Error(`lab kube: no REST mapping for ${apiVersion} ${doc.kind}`)
  const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`
  const ns = r.namespaced
    ? `/namespaces/${encodeURIComponent(doc.metadata?.namespace ?? namespace)}`
    : ''
  const name = withName ? `/${encodeURIComponent(String(doc.metadata?.name ?? ''))}` : ''
  return `${prefix}${ns}/${r.plural}${name}`
}

export interface KubeAnswer {
  status: number
  body: KubeDoc
}

export class LabKubeApi {
  constructor(
    readonly server: string,
    readonly ca: string,
    readonly token: string
  ) {}

  /** One request; never throws on a non-2xx answer (tests look at the status). */
  call(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeAnswer> {
    const payload =
      body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: `Bearer ${this.token}`
    }
    if (payload !== undefined) {
      headers['Content-Type'] = contentType ?? 'application/json'
      headers['Content-Length'] = String(Buffer.byteLength(payload))
    }
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.server),
        { method, headers, ca: this.ca, timeout: 20_000 },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let parsed: KubeDoc
            try {
              parsed = text ? (JSON.parse(text) as KubeDoc) : {}
            } catch {
              parsed = { text }
            }
            resolve({ status: res.statusCode ?? 0, body: parsed })
          })
          res.on('error', reject)
        }
      )
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 20s`)))
      req.on('error', reject)
      req.end(payload)
    })
  }

  private async ok(method: string, path: string, body?: unknown, type?: string): Promise<KubeDoc> {
    const a = await this.call(method, path, body, type)
    if (a.status < 200 || a.status > 299) {
      throw new Error(`${method} ${path}: ${a.status} ${a.body.message ?? JSON.stringify(a.body)}`)
    }
    return a.body
  }

  /** Server-side apply, forcing ownership: the object ends up exactly as given. */
  apply(doc: KubeDoc, namespace = 'default'): Promise<KubeDoc> {
    return this.ok(
      'PATCH',
      `${resourcePath(doc, namespace)}?fieldManager=ops-lab&force=true`,
      doc,
      'application/apply-patch+yaml'
    )
  }

  async applyAll(docs: KubeDoc[], namespace = 'default'): Promise<void> {
    for (const d of docs) await this.apply(d, namespace)
  }

  get(path: string): Promise<KubeDoc> {
    return this.ok('GET', path)
  }

  /** Deletes and waits until the object is gone (foreground: its pods go too). */
  async delete(path: string, timeoutMs = 30_000): Promise<void> {
    const a = await this.call('DELETE', path, { propagationPolicy: 'Foreground' })
    if (a.status === 404) return
    if (a.status > 299) throw new Error(`DELETE ${path}: ${a.status} ${a.body.message}`)
    await this.waitFor(
      `${path} deleted`,
      async () => (await this.call('GET', path)).status === 404,
      timeoutMs
    )
  }

  /** Polls `check` every 200 ms until it is true, at most `timeoutMs`. */
  async waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let last: unknown
    while (Date.now() < deadline) {
      try {
        if (await check()) return
      } catch (error) {
        last = error
      }
      await new Promise((r) => setTimeout(r, 200))
    }
    throw new Error(
      `lab kube: ${what}: not after ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`
    )
  }

  /** A bound token for a service account (what `kubectl create token` does). */
  async serviceAccountToken(namespace: string, name: string, seconds = 3600): Promise<string> {
    const answer = await this.ok(
      'POST',
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: seconds }
      }
    )
    return String(answer.status?.token ?? '')
  }
}

/** A kubeconfig file for one token on this server, as a user would get it from their cluster. */
export function writeTokenKubeconfig(
  path: string,
  server: string,
  caFile: string,
  token: string,
  namespace = 'default'
): string {
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: lab',
    '    cluster:',
    `      server: ${server}`,
    `      certificate-authority: ${caFile}`,
    'users:',
    '  - name: lab-user',
    '    user:',
    `      token: ${token}`,
    'contexts:',
    '  - name: lab',
    '    context:',
    '      cluster: lab',
    '      user: lab-user',
    `      namespace: ${namespace}`,
    'current-context: lab',
    ''
  ].join('\n')
  writeFileSync(path, text, { mode: 0o600 })
  return path
}
