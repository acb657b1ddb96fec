import { request as httpRequest } from 'node:http'
import { request as httpsRequest, type RequestOptions } from 'node:https'
import { ToolError } from '../core/errors.js'
import type { KubeCredentials } from './kubeconfig.js'

/** The objects this project touches, by kind: where each lives in the REST API. */
export const RESOURCES = {
  Service: { prefix: '/api/v1', plural: 'services' },
  Deployment: { prefix: '/apis/apps/v1', plural: 'deployments' },
  HTTPRoute: { prefix: '/apis/gateway.networking.k8s.io/v1', plural: 'httproutes' },
  Ingress: { prefix: '/apis/networking.k8s.io/v1', plural: 'ingresses' }
} as const
export type Kind = keyof typeof RESOURCES

export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: {
    name: string
    namespace?: string
    resourceVersion?: string
    generation?: number
    labels?: Record<string, string>
    annotations?: Record<string, string>
  }
  spec?: Record<string, unknown>
  status?: Record<string, unknown>
}

export interface ObjectRef {
  kind: Kind
  namespace: string
  name: string
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`
}

export function objectPath(ref: ObjectRef): string {
  const r = RESOURCES[ref.kind]
  return `${r.prefix}/namespaces/${encodeURIComponent(ref.namespace)}/${r.plural}/${encodeURIComponent(ref.name)}`
}

/** An answer from the API server that is not 2xx; `status` tells a conflict from the rest. */
export class KubeApiError extends ToolError {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string
  ) {
    super(message)
  }
}

const REQUEST_TIMEOUT_MS = 15_000

/** Hints for the answers a user can act on. */
function hint(status: number, ref: ObjectRef): string {
  if (status === 401)
    return ' (the credentials were refused: token expired or wrong kubeconfig user?)'
  if (status === 403) {
    return ` (RBAC: the user needs get and patch on ${RESOURCES[ref.kind].plural} in namespace ${ref.namespace})`
  }
  if (status === 404) return ` (check the name and namespace; is the ${ref.kind} applied?)`
  return ''
}

/**
 * The few REST calls the routers need (get, merge patch, JSON patch), on node:https with the
 * kubeconfig's CA, client certificate or bearer token. A full Kubernetes client would add
 * megabytes to every bundle for five endpoints.
 */
export class KubeClient {
  constructor(readonly credentials: KubeCredentials) {}

  get(ref: ObjectRef): Promise<KubeObject> {
    return this.call('GET', ref)
  }

  /** RFC 7386 merge patch; with metadata.resourceVersion set, a concurrent change gives 409. */
  mergePatch(ref: ObjectRef, patch: unknown): Promise<KubeObject> {
    return this.call('PATCH', ref, 'application/merge-patch+json', patch)
  }

  /** RFC 6902 JSON patch (used with `test` operations to patch one array element safely). */
  jsonPatch(ref: ObjectRef, ops: unknown[]): Promise<KubeObject> {
    return this.call('PATCH', ref, 'application/json-patch+json', ops)
  }

  private call(
    method: string,
    ref: ObjectRef,
    contentType?: string,
    body?: unknown
  ): Promise<KubeObject> {
    const { server, ca, insecureSkipTlsVerify, tlsServerName, cert, key, token } = this.credentials
    const url = new URL(server.pathname.replace(/\/$/, '') + objectPath(ref), server)
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': 'ops-actions'
    }
    if (token) headers.Authorization = `Bearer ${token}`
    if (payload !== undefined) {
      headers['Content-Type'] = contentType ?? 'application/json'
      headers['Content-Length'] = String(Buffer.byteLength(payload))
    }
    const options: RequestOptions = { method, headers, timeout: REQUEST_TIMEOUT_MS }
    const tls = url.protocol === 'https:'
    if (tls) {
      Object.assign(options, {
        ca,
        cert,
        key,
        rejectUnauthorized: !insecureSkipTlsVerify,
        servername: tlsServerName
      })
    }
    const what = `${method} ${describeRef(ref)}`
    return new Promise((resolve, reject) => {
      const req = (tls ? httpsRequest : httpRequest)(url, options, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let parsed: unknown
          try {
            parsed = text ? JSON.parse(text) : undefined
          } catch {
            parsed = undefined
          }
          const status = res.statusCode ?? 0
          if (status >= 200 && status < 300 && parsed && typeof parsed === 'object') {
            resolve(parsed as KubeObject)
            return
          }
          const s = (parsed ?? {}) as { message?: string; reason?: string }
          const detail = s.message ?? (text.slice(0, 300) || res.statusMessage || 'no body')
          reject(
            new KubeApiError(
              status,
              s.reason ?? '',
              `${what}: API server answered ${status}: ${detail}${hint(status, ref)}`
            )
          )
        })
        res.on('error', reject)
      })
      req.on('timeout', () =>
        req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000}s`))
      )
      req.on('error', (error) => {
        if (error instanceof KubeApiError) reject(error)
        else
          reject(
            new ToolError(`${what}: cannot reach the API server ${server.host}: ${error.message}`)
          )
      })
      req.end(payload)
    })
  }
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 409
}
