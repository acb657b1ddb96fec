import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Lab } from '../../lab/lab.js'
import { startRegistry, type Registry } from '../../lab/services/registry.js'
import { promoteImage } from '../../src/image/promote.js'
import { RegistryClient } from '../../src/image/registry-client.js'
import { pushImage } from './upload.js'

/**
 * Docker Hub, GHCR and ECR answer 401 with `WWW-Authenticate: Bearer realm=…` and hand out
 * tokens from that realm. This fake of that front (a token endpoint plus a gate that only lets
 * requests with an issued token through) stands before a real registry.
 */
function startTokenFront(backend: Registry, account: { username: string; password: string }) {
  const issued = new Map<string, string[]>()
  const tokenRequests: { scopes: string[]; service: string | null }[] = []
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://front')
    const port = (server.address() as AddressInfo).port
    if (url.pathname === '/token') {
      const expected = `Basic ${Buffer.from(`${account.username}:${account.password}`).toString('base64')}`
      if (req.headers.authorization !== expected) return res.writeHead(401).end()
      const scopes = url.searchParams.getAll('scope')
      tokenRequests.push({ scopes, service: url.searchParams.get('service') })
      const token = randomBytes(16).toString('hex')
      issued.set(token, scopes)
      return res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token, expires_in: 300 }))
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    if (!token || !issued.has(token)) {
      return res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="lab-registry",scope="repository:x:pull"`
        })
        .end()
    }
    const headers = { ...req.headers }
    delete headers.authorization
    const upstream = request(`${backend.url}${req.url}`, { method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode!, up.headers)
      up.pipe(res)
    })
    req.pipe(upstream)
  })
  return new Promise<{ host: string; server: Server; tokenRequests: typeof tokenRequests }>(
    (resolve) =>
      server.listen(0, '127.0.0.1', () =>
        resolve({
          host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
          server,
          tokenRequests
        })
      )
  )
}

describe('Bearer token challenge (contract with a token-issuing registry front)', () => {
  let lab: Lab
  let staging: Registry
  let front: Awaited<ReturnType<typeof startTokenFront>>
  const account = { username: 'robot', password: randomBytes(8).toString('hex') }
  beforeAll(async () => {
    lab = Lab.create()
    staging = await startRegistry(lab, 'staging')
    front = await startTokenFront(await startRegistry(lab, 'behind-token'), account)
  })
  afterAll(async () => {
    front.server.close()
    await lab.stop()
  })

  it('fetches a token with the credentials and the scopes it needs, then copies through it', async () => {
    const image = await pushImage(staging, 'team/app', 'candidate', {
      layers: 2,
      layerBytes: 30_000
    })
    const result = await promoteImage(
      { client: new RegistryClient(staging.host), repository: 'team/app', reference: image.digest },
      { client: new RegistryClient(front.host, account), repository: 'prod/app' },
      ['1.0.0']
    )
    expect(result.digest).toBe(image.digest)
    expect(result.blobs.copied).toBe(3)
    expect(front.tokenRequests.length).toBeGreaterThan(0)
    expect(front.tokenRequests.every((t) => t.service === 'lab-registry')).toBe(true)
    expect(front.tokenRequests.map((t) => t.scopes.join(' '))).toContain(
      'repository:prod/app:pull,push'
    )
    // One token per scope set, reused, not one per request.
    expect(new Set(front.tokenRequests.map((t) => t.scopes.join(' '))).size).toBe(
      front.tokenRequests.length
    )
  })

  it('a refused token request is a clear error naming the user, not the password', async () => {
    const client = new RegistryClient(front.host, { username: 'robot', password: 'wrong-password' })
    const attempt = client.getManifest('prod/app', '1.0.0')
    await expect(attempt).rejects.toThrow(
      /token service http:\/\/127\.0\.0\.1:\d+ refused user robot \(HTTP 401\)/
    )
    await expect(attempt).rejects.not.toThrow(/wrong-password/)
  })
})
