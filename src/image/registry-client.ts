import { createHash } from 'node:crypto'
import { ToolError } from '../core/errors.js'
import { log } from '../core/log.js'
import { basicHeader, parseChallenge, type Credentials } from './auth.js'
import { IdleWatchdog, idleReason } from './idle.js'
import { MANIFEST_ACCEPT, MEDIA, type Descriptor } from './media-types.js'
import { DIGEST, registryBaseUrl } from './reference.js'

/** Pages of a tag or referrers list read at most. */
const MAX_PAGES = 100

const nextPage = (res: Response): string | undefined =>
  /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1]

export interface Manifest {
  bytes: Buffer
  mediaType: string
  digest: string
}

interface RequestOptions {
  /** Token scopes this request needs, e.g. `repository:org/app:pull,push`. */
  scopes: string[]
  headers?: Record<string, string>
  body?: Buffer | ReadableStream<Uint8Array>
  /** Expected statuses; anything else becomes a ToolError. */
  ok: number[]
  /** For blob transfers: abort only when no byte has moved for the idle timeout. */
  watchdog?: IdleWatchdog
}

/** Bound on small requests (manifests, HEAD, upload start): they carry no bulk data. */
const REQUEST_TIMEOUT_MS = 60_000
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000

export interface ClientOptions {
  /** Blob transfers fail after this long without a byte moving (default 60 s). */
  idleTimeoutMs?: number
}

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

/**
 * A client for one registry over the OCI Distribution API. Authentication follows the
 * registry's challenge: Basic with the credentials, or a Bearer token fetched from the realm it
 * names (Docker Hub, GHCR, ECR, Harbor…), cached per scope set and renewed once on a 401.
 */
export class RegistryClient {
  readonly baseUrl: string
  private readonly tokens = new Map<string, string>()
  private readonly pendingTokens = new Map<string, Promise<void>>()
  private useBasic = false

  constructor(
    readonly registry: string,
    private readonly creds?: Credentials,
    baseUrl?: string,
    private readonly options: ClientOptions = {}
  ) {
    this.baseUrl = baseUrl ?? registryBaseUrl(registry)
    if (creds) log.secret(creds.password)
  }

  private authFor(scopes: string[]): string | undefined {
    const token = this.tokens.get(scopes.join(' '))
    if (token) return `Bearer ${token}`
    return this.useBasic && this.creds ? basicHeader(this.creds) : undefined
  }

  /** Parallel blob copies hitting the same 401 share one token request. */
  private fetchToken(params: Record<string, string>, scopes: string[]): Promise<void> {
    const key = scopes.join(' ')
    let pending = this.pendingTokens.get(key)
    if (!pending) {
      pending = this.requestToken(params, scopes).finally(() => this.pendingTokens.delete(key))
      this.pendingTokens.set(key, pending)
    }
    return pending
  }

  private async requestToken(params: Record<string, string>, scopes: string[]): Promise<void> {
    if (!params.realm) throw new ToolError(`${this.registry}: Bearer challenge without a realm`)
    const url = new URL(params.realm)
    if (params.service) url.searchParams.set('service', params.service)
    for (const scope of scopes.length > 0 ? scopes : params.scope ? [params.scope] : [])
      url.searchParams.append('scope', scope)
    const res = await fetch(url, {
      headers: this.creds ? { authorization: basicHeader(this.creds) } : {},
      signal: AbortSignal.timeout(30_000)
    })
    if (!res.ok) {
      await res.arrayBuffer()
      const who = this.creds ? `user ${this.creds.username}` : 'anonymous access'
      throw new ToolError(
        `${this.registry}: token service ${url.origin} refused ${who} (HTTP ${res.status})`
      )
    }
    const body = (await res.json()) as { token?: string; access_token?: string }
    const token = body.token ?? body.access_token
    if (!token) throw new ToolError(`${this.registry}: token service answered without a token`)
    log.secret(token)
    this.tokens.set(scopes.join(' '), token)
  }

  /** Learns how to authenticate from a 401; false when there is nothing better to try. */
  private async negotiate(res: Response, scopes: string[]): Promise<boolean> {
    const challenge = parseChallenge(res.headers.get('www-authenticate'))
    if (challenge?.scheme === 'bearer') {
      await this.fetchToken(challenge.params, scopes)
      return true
    }
    if (challenge?.scheme === 'basic' && this.creds && !this.useBasic) {
      this.useBasic = true
      return true
    }
    return false
  }

  async request(method: string, pathOrUrl: string, options: RequestOptions): Promise<Response> {
    const url = new URL(pathOrUrl, this.baseUrl)
    // A stream body can be sent once; the caller authenticates with a bodiless request first.
    const attempts = options.body instanceof Buffer || options.body === undefined ? 2 : 1
    for (let attempt = 1; ; attempt++) {
      const auth = this.authFor(options.scopes)
      const signal = options.watchdog?.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS)
      let res: Response
      try {
        res = await fetch(url, {
          method,
          headers: { ...options.headers, ...(auth && { authorization: auth }) },
          body: options.body,
          signal,
          ...(options.body && !(options.body instanceof Buffer) && { duplex: 'half' })
        } as RequestInit)
      } catch (error) {
        const reason = idleReason(error, signal)
        if (reason instanceof ToolError) throw reason
        const cause = (error as { cause?: { message?: string } }).cause?.message
        throw new ToolError(
          `${method} ${url.host}${url.pathname}: ${(error as Error).message}${cause ? ` (${cause})` : ''}`,
          { cause: error }
        )
      }
      // A concurrent request may have learnt the way in meanwhile: then just try again with it.
      const learnt = () => auth !== this.authFor(options.scopes)
      if (
        res.status === 401 &&
        attempt < attempts &&
        (learnt() || (await this.negotiate(res, options.scopes)))
      ) {
        await res.arrayBuffer()
        continue
      }
      if (!options.ok.includes(res.status)) {
        const detail = (await res.text()).slice(0, 500).trim()
        const hint = res.status === 401 ? ' (check the registry credentials)' : ''
        throw new ToolError(
          `${method} ${url.host}${url.pathname}: HTTP ${res.status}${hint}${detail ? `: ${detail}` : ''}`
        )
      }
      return res
    }
  }

  /** Fetches a manifest as stored (bytes untouched) and checks it against its digest. */
  async getManifest(repository: string, reference: string): Promise<Manifest> {
    const res = await this.request('GET', `/v2/${repository}/manifests/${reference}`, {
      scopes: [`repository:${repository}:pull`],
      headers: { accept: MANIFEST_ACCEPT },
      ok: [200]
    })
    const bytes = Buffer.from(await res.arrayBuffer())
    const digest = sha256Digest(bytes)
    const claimed = res.headers.get('docker-content-digest')
    if (
      (reference.startsWith('sha256:') && reference !== digest) ||
      (claimed && claimed !== digest)
    ) {
      throw new ToolError(
        `${this.registry}/${repository}@${reference}: manifest content hashes to ${digest}`
      )
    }
    const mediaType =
      res.headers.get('content-type')?.split(';')[0].trim() ||
      (JSON.parse(bytes.toString()) as { mediaType?: string }).mediaType
    if (!mediaType)
      throw new ToolError(
        `${this.registry}/${repository}@${reference}: manifest without a media type`
      )
    return { bytes, mediaType, digest }
  }

  /**
   * Stores a manifest under a tag or its digest; returns the digest the registry computed and
   * whether it indexed the manifest's `subject` (the `OCI-Subject` header of registries with
   * the referrers API, OCI distribution-spec 1.1).
   */
  async putManifest(
    repository: string,
    reference: string,
    manifest: Manifest
  ): Promise<{ digest: string; subjectIndexed: boolean }> {
    const res = await this.request('PUT', `/v2/${repository}/manifests/${reference}`, {
      scopes: [`repository:${repository}:pull,push`],
      headers: { 'content-type': manifest.mediaType },
      body: manifest.bytes,
      ok: [201]
    })
    await res.arrayBuffer()
    return {
      digest: res.headers.get('docker-content-digest') ?? '',
      subjectIndexed: res.headers.has('oci-subject')
    }
  }

  /** The manifest under a tag, or undefined when the tag does not exist. */
  async findManifest(repository: string, tag: string): Promise<Manifest | undefined> {
    const res = await this.request('HEAD', `/v2/${repository}/manifests/${tag}`, {
      scopes: [`repository:${repository}:pull`],
      headers: { accept: MANIFEST_ACCEPT },
      ok: [200, 404]
    })
    return res.status === 404 ? undefined : this.getManifest(repository, tag)
  }

  /** Every tag of a repository, following `Link: <…>; rel="next"` pages; never a partial list. */
  async listTags(repository: string): Promise<string[]> {
    const tags: string[] = []
    let next: string | undefined = `/v2/${repository}/tags/list?n=1000`
    for (let page = 0; next; page++) {
      // A partial list would silently leave signature tags behind.
      if (page === MAX_PAGES)
        throw new ToolError(`${this.registry}/${repository}: tag list runs past ${MAX_PAGES} pages`)
      const res = await this.request('GET', next, {
        scopes: [`repository:${repository}:pull`],
        ok: [200, 404]
      })
      if (res.status === 404) {
        await res.arrayBuffer()
        return tags
      }
      const body = (await res.json()) as { tags?: string[] | null }
      tags.push(...(body.tags ?? []))
      next = nextPage(res)
    }
    return tags
  }

  /**
   * OCI 1.1 referrers of a digest (signatures, SBOMs, attestations whose `subject` it is), or
   * undefined when the registry has no referrers API (it answers 404 for the route).
   */
  async referrers(repository: string, digest: string): Promise<Descriptor[] | undefined> {
    const found: Descriptor[] = []
    // A registry may page the list (`Link: <…>; rel="next"`, distribution-spec 1.1): every page
    // is read, or a signature on page two would stay behind.
    let next: string | undefined = `/v2/${repository}/referrers/${digest}`
    for (let page = 0; next; page++) {
      if (page === MAX_PAGES)
        throw new ToolError(
          `${this.registry}/${repository}: referrers of ${digest} run past ${MAX_PAGES} pages`
        )
      const res = await this.request('GET', next, {
        scopes: [`repository:${repository}:pull`],
        headers: { accept: MEDIA.ociIndex },
        // Registries without the API answer for an unknown route: 404, or 400/405 on some.
        ok: [200, 400, 404, 405]
      })
      if (res.status !== 200) {
        await res.arrayBuffer()
        if (page === 0) return undefined
        throw new ToolError(
          `${this.registry}/${repository}: page ${page + 1} of the referrers of ${digest}: HTTP ${res.status}`
        )
      }
      const type = res.headers.get('content-type')?.split(';')[0].trim()
      const text = await res.text()
      if (type !== MEDIA.ociIndex) return page === 0 ? undefined : found
      try {
        found.push(
          ...((JSON.parse(text) as { manifests?: Descriptor[] }).manifests ?? []).filter(
            (d) => typeof d.digest === 'string' && DIGEST.test(d.digest)
          )
        )
      } catch {
        throw new ToolError(`${this.registry}/${repository}: referrers of ${digest} are not JSON`)
      }
      next = nextPage(res)
    }
    return found
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const res = await this.request('HEAD', `/v2/${repository}/blobs/${digest}`, {
      scopes: [`repository:${repository}:pull,push`],
      ok: [200, 404]
    })
    return res.status === 200
  }

  /**
   * Asks the registry to link a blob from another repository on it (no bytes move). Returns
   * undefined when mounted, else the upload URL the registry opened instead.
   */
  async mountBlob(repository: string, digest: string, from: string): Promise<string | undefined> {
    const q = new URLSearchParams({ mount: digest, from })
    const res = await this.request('POST', `/v2/${repository}/blobs/uploads/?${q}`, {
      scopes: [`repository:${repository}:pull,push`, `repository:${from}:pull`],
      ok: [201, 202]
    })
    await res.arrayBuffer()
    return res.status === 201 ? undefined : this.location(res)
  }

  async startUpload(repository: string): Promise<string> {
    const res = await this.request('POST', `/v2/${repository}/blobs/uploads/`, {
      scopes: [`repository:${repository}:pull,push`],
      ok: [202]
    })
    await res.arrayBuffer()
    return this.location(res)
  }

  private get idleMs(): number {
    return this.options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
  }

  /**
   * Monolithic upload: the whole blob streamed in one PUT, checked by the registry against
   * `digest`; it fails only when the upload stops moving for the idle timeout.
   */
  async finishUpload(
    repository: string,
    uploadUrl: string,
    digest: string,
    body: ReadableStream<Uint8Array>,
    size: number
  ): Promise<void> {
    const url = new URL(uploadUrl, this.baseUrl)
    url.searchParams.set('digest', digest)
    const watchdog = new IdleWatchdog(this.idleMs, `upload of ${digest} to ${this.registry}`)
    try {
      const res = await this.request('PUT', url.toString(), {
        scopes: [`repository:${repository}:pull,push`],
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
        body: watchdog.watch(body),
        ok: [201],
        watchdog
      })
      await res.arrayBuffer()
    } finally {
      watchdog.stop()
    }
  }

  /** The blob as a stream that fails when no byte arrives for the idle timeout. */
  async getBlob(repository: string, digest: string): Promise<ReadableStream<Uint8Array>> {
    const watchdog = new IdleWatchdog(this.idleMs, `download of ${digest} from ${this.registry}`)
    let res: Response
    try {
      res = await this.request('GET', `/v2/${repository}/blobs/${digest}`, {
        scopes: [`repository:${repository}:pull`],
        ok: [200],
        watchdog
      })
    } catch (error) {
      watchdog.stop()
      throw error
    }
    if (!res.body) {
      watchdog.stop()
      throw new ToolError(`${this.registry}/${repository}: blob ${digest} has no body`)
    }
    return watchdog.watch(res.body)
  }

  private location(res: Response): string {
    const location = res.headers.get('location')
    if (!location) throw new ToolError(`${this.registry}: upload started without a Location header`)
    return new URL(location, this.baseUrl).toString()
  }
}
