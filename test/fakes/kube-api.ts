/**
 * A fake Kubernetes API server for contract tests: node:http on 127.0.0.1 (free port). It keeps
 * Service, Deployment, HTTPRoute and Ingress objects in memory and implements what the router
 * relies on, as the real API server documents it: bearer-token auth (401), GET, merge patch
 * and JSON patch, resourceVersion bumped on every write, 409 Conflict when a patch carries a
 * stale metadata.resourceVersion, metadata.generation bumped on spec changes, and a Deployment
 * "controller" that finishes a rollout a short time after its pod template changes.
 * It proves the router speaks this contract; it proves nothing about a real cluster
 * (the kind workflow, .github/workflows/e2e-kind.yml, does that).
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export type FakeKind = 'Service' | 'Deployment' | 'HTTPRoute' | 'Ingress'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>

const ROUTES: Record<string, FakeKind> = {
  '/api/v1/services': 'Service',
  '/apis/apps/v1/deployments': 'Deployment',
  '/apis/gateway.networking.k8s.io/v1/httproutes': 'HTTPRoute',
  '/apis/networking.k8s.io/v1/ingresses': 'Ingress'
}
const PATH = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)\/namespaces\/([^/]+)\/([^/]+)\/([^/]+)$/

export interface FakeKubeApiOptions {
  token?: string
  /** How long the fake controller takes to finish a rollout. */
  rolloutDelayMs?: number
  /** Images whose pods never become ready (the rollout never finishes). */
  stuckImages?: string[]
}

export interface Request {
  method: string
  path: string
  contentType?: string
  status: number
}

function key(kind: FakeKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** RFC 7386. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch
  const out: Obj = isObj(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

/** RFC 6902, the operations the router uses (test, replace, add, remove). */
function jsonPatch(doc: Obj, ops: Obj[]): Obj | string {
  const out = structuredClone(doc)
  for (const op of ops) {
    const parts = String(op.path)
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    const last = parts.pop()!
    let parent: Obj = out
    for (const p of parts) {
      parent = parent?.[p]
      if (parent === undefined) return `path ${op.path} does not exist`
    }
    if (op.op === 'test') {
      if (JSON.stringify(parent[last]) !== JSON.stringify(op.value))
        return `test failed at ${op.path}`
    } else if (op.op === 'replace') {
      if (!(last in parent)) return `path ${op.path} does not exist`
      parent[last] = op.value
    } else if (op.op === 'add') {
      if (Array.isArray(parent))
        parent.splice(last === '-' ? parent.length : Number(last), 0, op.value)
      else parent[last] = op.value
    } else if (op.op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1)
      else delete parent[last]
    } else return `unsupported op ${op.op}`
  }
  return out
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json' })
  res.end(
    JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message })
  )
}

export class FakeKubeApi {
  readonly objects = new Map<string, Obj>()
  readonly requests: Request[] = []
  private version = 1000
  private beforePatch = new Map<string, (o: Obj) => void>()
  private timers = new Set<NodeJS.Timeout>()
  readonly token: string
  url = ''

  private readonly server = createServer((req, res) => {
    void this.handle(req, res)
  })

  constructor(private readonly options: FakeKubeApiOptions = {}) {
    this.token = options.token ?? 'fake-token-0123456789'
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t)
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  /** Stores an object as `kubectl apply` would create it. */
  put(obj: Obj): Obj {
    const stored = structuredClone(obj)
    stored.metadata.namespace ??= 'default'
    stored.metadata.generation = 1
    stored.metadata.resourceVersion = String(++this.version)
    if (stored.kind === 'Deployment') stored.status = this.rolledOut(stored)
    this.objects.set(key(stored.kind, stored.metadata.namespace, stored.metadata.name), stored)
    return stored
  }

  get(kind: FakeKind, name: string, namespace = 'default'): Obj {
    const obj = this.objects.get(key(kind, namespace, name))
    if (!obj) throw new Error(`fake: no ${kind} ${namespace}/${name}`)
    return obj
  }

  /** Another writer (kubectl, another run) changes the object now; bumps its resourceVersion. */
  change(kind: FakeKind, name: string, fn: (o: Obj) => void, namespace = 'default'): void {
    const obj = this.get(kind, name, namespace)
    fn(obj)
    obj.metadata.resourceVersion = String(++this.version)
  }

  /** Runs `fn` as another writer just before the next PATCH of that object is processed. */
  raceNextPatch(kind: FakeKind, name: string, fn: (o: Obj) => void, namespace = 'default'): void {
    this.beforePatch.set(key(kind, namespace, name), fn)
  }

  private rolledOut(d: Obj): Obj {
    const replicas = d.spec?.replicas ?? 1
    return {
      observedGeneration: d.metadata.generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      conditions: [
        { type: 'Available', status: 'True' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }
      ]
    }
  }

  /** What the Deployment controller does after a template change: roll out later, or get stuck. */
  private startRollout(k: string, d: Obj): void {
    const replicas = d.spec?.replicas ?? 1
    const images: string[] = (d.spec?.template?.spec?.containers ?? []).map((c: Obj) => c.image)
    const generation = d.metadata.generation
    d.status = { ...d.status, observedGeneration: generation - 1 }
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      const now = this.objects.get(k)
      if (!now || now.metadata.generation !== generation) return
      const stuck = images.some((i) => this.options.stuckImages?.includes(i))
      now.status = stuck
        ? {
            observedGeneration: generation,
            replicas: replicas + 1,
            updatedReplicas: 1,
            readyReplicas: replicas,
            availableReplicas: replicas
          }
        : this.rolledOut(now)
      now.metadata.resourceVersion = String(++this.version)
    }, this.options.rolloutDelayMs ?? 100)
    this.timers.add(timer)
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    const url = new URL(req.url ?? '/', 'http://fake')
    const record: Request = {
      method: req.method ?? '',
      path: url.pathname,
      contentType: req.headers['content-type'],
      status: 0
    }
    this.requests.push(record)
    const done = (code: number, reason: string, message: string): void => {
      record.status = code
      status(res, code, reason, message)
    }
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return done(401, 'Unauthorized', 'Unauthorized')
    const m = PATH.exec(url.pathname)
    const kind = m ? ROUTES[`${m[1]}/${m[3]}`] : undefined
    if (!m || !kind)
      return done(
        404,
        'NotFound',
        `the server could not find the requested resource (${url.pathname})`
      )
    const k = key(kind, decodeURIComponent(m[2]), decodeURIComponent(m[4]))
    const current = this.objects.get(k)
    if (!current) return done(404, 'NotFound', `${m[3]} "${decodeURIComponent(m[4])}" not found`)
    if (req.method === 'GET') {
      record.status = 200
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(current))
      return
    }
    if (req.method !== 'PATCH')
      return done(405, 'MethodNotAllowed', `${req.method} is not supported by the fake`)
    const race = this.beforePatch.get(k)
    if (race) {
      this.beforePatch.delete(k)
      race(current)
      current.metadata.resourceVersion = String(++this.version)
    }
    let patch: unknown
    try {
      patch = JSON.parse(body)
    } catch {
      return done(400, 'BadRequest', 'body is not JSON')
    }
    let next: Obj
    if (req.headers['content-type'] === 'application/merge-patch+json') {
      const wanted = (patch as Obj)?.metadata?.resourceVersion
      if (wanted !== undefined && wanted !== current.metadata.resourceVersion) {
        return done(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${m[3]} "${current.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`
        )
      }
      next = mergePatch(current, patch) as Obj
    } else if (req.headers['content-type'] === 'application/json-patch+json') {
      const result = jsonPatch(current, patch as Obj[])
      if (typeof result === 'string') return done(422, 'Invalid', result)
      next = result
    } else {
      return done(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format: ${req.headers['content-type']}`
      )
    }
    next.metadata.resourceVersion = String(++this.version)
    next.metadata.name = current.metadata.name
    const specChanged = JSON.stringify(next.spec) !== JSON.stringify(current.spec)
    if (specChanged) next.metadata.generation = (current.metadata.generation ?? 1) + 1
    next.status = current.status
    this.objects.set(k, next)
    if (
      kind === 'Deployment' &&
      JSON.stringify(next.spec?.template) !== JSON.stringify(current.spec?.template)
    ) {
      this.startRollout(k, next)
    }
    record.status = 200
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.end(JSON.stringify(next))
  }
}

export async function startFakeKubeApi(options?: FakeKubeApiOptions): Promise<FakeKubeApi> {
  return new FakeKubeApi(options).start()
}

// ---- Sample objects (app `shop`) and a kubeconfig pointing at the fake ----

export function deployment(slot: string, image = 'registry.example/shop:1.0.0'): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `shop-${slot}` },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'shop', slot } },
      template: {
        metadata: { labels: { app: 'shop', slot } },
        spec: { containers: [{ name: 'shop', image }] }
      }
    }
  }
}

export function service(name: string, selector: Record<string, string>): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { selector, ports: [{ port: 80, targetPort: 8080 }] }
  }
}

export function httpRoute(blue: number | undefined, green: number | undefined): Obj {
  const ref = (name: string, weight: number | undefined): Obj =>
    weight === undefined ? { name, port: 80 } : { name, port: 80, weight }
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'shop' },
    spec: {
      parentRefs: [{ name: 'web' }],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [ref('shop-blue', blue), ref('shop-green', green)]
        },
        {
          matches: [{ path: { type: 'PathPrefix', value: '/legacy' } }],
          backendRefs: [{ name: 'legacy', port: 80 }]
        }
      ]
    }
  }
}

export function canaryIngress(
  slot: string,
  weight: string,
  annotations: Record<string, string> = {}
): Obj {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: 'shop-canary',
      annotations: {
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': weight,
        ...annotations
      }
    },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host: 'shop.example',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: `shop-${slot}`, port: { number: 80 } } }
              }
            ]
          }
        }
      ]
    }
  }
}

/** Main Service on blue, both slot Deployments and per-slot Services. */
export function seed(api: FakeKubeApi): void {
  api.put(service('shop', { app: 'shop', slot: 'blue' }))
  api.put(service('shop-blue', { app: 'shop', slot: 'blue' }))
  api.put(service('shop-green', { app: 'shop', slot: 'green' }))
  api.put(deployment('blue'))
  api.put(deployment('green'))
}

export function writeKubeconfig(server: string, token: string, extra: Obj = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'))
  const path = join(dir, 'config')
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'fake',
    clusters: [{ name: 'fake', cluster: { server, ...(extra.cluster ?? {}) } }],
    users: [{ name: 'ci', user: extra.user ?? { token } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'ci' } }]
  }
  writeFileSync(path, JSON.stringify(config)) // JSON is YAML
  return path
}
