import { createServer, type Server } from 'node:http'

export interface FakeDeployment {
  id: number
  environment: string
  ref: string
  payload: Record<string, unknown>
  statuses: { state: string; description?: string; environment_url?: string; log_url?: string }[]
}

/**
 * A stand-in for the GitHub Deployments REST API (create deployment, create/list statuses,
 * list deployments). It checks the token and records every call; it is a contract test's
 * fake, not GitHub: it proves the requests we send, not GitHub's behaviour.
 */
export async function startFakeGitHub(token: string): Promise<{
  url: string
  deployments: FakeDeployment[]
  requests: { method: string; path: string; body: unknown }[]
  close(): Promise<void>
}> {
  const deployments: FakeDeployment[] = []
  const requests: { method: string; path: string; body: unknown }[] = []
  const server: Server = createServer((req, res) => {
    let raw = ''
    req.on('data', (d) => (raw += d))
    req.on('end', () => {
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined
      const url = new URL(req.url ?? '/', 'http://x')
      requests.push({ method: req.method ?? '', path: url.pathname + url.search, body })
      const send = (status: number, data: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(data))
      }
      if (req.headers.authorization !== `token ${token}`)
        return send(401, { message: 'Bad credentials' })
      const m = /^\/repos\/([^/]+)\/([^/]+)\/deployments(?:\/(\d+)\/statuses)?$/.exec(url.pathname)
      if (!m) return send(404, { message: 'Not Found' })
      const id = m[3] ? Number(m[3]) : undefined
      if (id === undefined && req.method === 'POST') {
        const d: FakeDeployment = {
          id: deployments.length + 1,
          environment: String(body?.environment),
          ref: String(body?.ref),
          payload: body ?? {},
          statuses: []
        }
        deployments.push(d)
        return send(201, { id: d.id, environment: d.environment, ref: d.ref })
      }
      if (id === undefined && req.method === 'GET') {
        const env = url.searchParams.get('environment')
        return send(
          200,
          deployments
            .filter((d) => !env || d.environment === env)
            .reverse()
            .map((d) => ({ id: d.id, environment: d.environment }))
        )
      }
      const d = deployments.find((x) => x.id === id)
      if (!d) return send(404, { message: 'Not Found' })
      if (req.method === 'POST') {
        d.statuses.push(body as FakeDeployment['statuses'][number])
        return send(201, { id: d.statuses.length, state: body?.state })
      }
      return send(200, [...d.statuses].reverse())
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    deployments,
    requests,
    close: () => new Promise((r) => server.close(() => r()))
  }
}
