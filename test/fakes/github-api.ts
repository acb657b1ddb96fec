/**
 * A stand-in for the parts of GitHub's REST API the workflows reach when act runs them:
 * Deployments (+ statuses), issues (+ comments) and the code-scanning SARIF upload. It checks the
 * token and keeps every record in memory for the test to assert on. A contract fake: it shows
 * the requests our workflows and actions send, not GitHub's behaviour.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { gunzipSync } from 'node:zlib'

export interface ApiDeployment {
  id: number
  repo: string
  environment: string
  ref: string
  payload: Record<string, unknown>
  statuses: { state: string; description?: string; environment_url?: string }[]
}

export interface ApiIssue {
  number: number
  repo: string
  state: 'open' | 'closed'
  title: string
  body: string
  labels: { name: string }[]
  comments: string[]
  html_url: string
}

export interface ApiSarif {
  repo: string
  commit_sha: string
  ref: string
  category?: string
  /** The decoded SARIF document. */
  sarif: { runs?: { results?: unknown[] }[] }
}

export interface FakeGitHubApi {
  url: string
  token: string
  deployments: ApiDeployment[]
  issues: ApiIssue[]
  sarifs: ApiSarif[]
  requests: string[]
  /** The last status of a deployment (`success`, `failure`, `inactive`, ...). */
  lastState(d: ApiDeployment): string | undefined
  close(): Promise<void>
}

const REPO = '/repos/([^/]+/[^/]+)'

export async function startFakeGitHubApi(token = 'act-lab-token'): Promise<FakeGitHubApi> {
  const deployments: ApiDeployment[] = []
  const issues: ApiIssue[] = []
  const sarifs: ApiSarif[] = []
  const requests: string[] = []
  let base = ''

  const handle = (
    req: IncomingMessage,
    body: Record<string, unknown>,
    send: (s: number, d: unknown) => void
  ) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const path = url.pathname.replace(/^\/api\/v3/, '')
    const method = req.method ?? 'GET'
    requests.push(`${method} ${path}${url.search}`)
    const auth = req.headers.authorization ?? ''
    if (auth !== `token ${token}` && auth !== `Bearer ${token}`)
      return send(401, { message: 'Bad credentials' })
    let m: RegExpExecArray | null
    if ((m = new RegExp(`^${REPO}/deployments$`).exec(path))) {
      const repo = m[1]
      if (method === 'POST') {
        const d: ApiDeployment = {
          id: deployments.length + 1,
          repo,
          environment: String(body.environment),
          ref: String(body.ref),
          payload: body,
          statuses: []
        }
        deployments.push(d)
        return send(201, { id: d.id, environment: d.environment, ref: d.ref })
      }
      const env = url.searchParams.get('environment')
      return send(
        200,
        deployments
          .filter((d) => d.repo === repo && (!env || d.environment === env))
          .reverse()
          .map((d) => ({ id: d.id, environment: d.environment, ref: d.ref }))
      )
    }
    if ((m = new RegExp(`^${REPO}/deployments/(\\d+)/statuses$`).exec(path))) {
      const d = deployments.find((x) => x.repo === m![1] && x.id === Number(m![2]))
      if (!d) return send(404, { message: 'Not Found' })
      if (method === 'POST') {
        d.statuses.push(body as ApiDeployment['statuses'][number])
        return send(201, { id: d.statuses.length, state: body.state })
      }
      return send(200, [...d.statuses].reverse())
    }
    if ((m = new RegExp(`^${REPO}/issues$`).exec(path))) {
      const repo = m[1]
      if (method === 'POST') {
        const number = issues.length + 1
        const issue: ApiIssue = {
          number,
          repo,
          state: 'open',
          title: String(body.title),
          body: String(body.body ?? ''),
          labels: ((body.labels as string[]) ?? []).map((name) => ({ name })),
          comments: [],
          html_url: `${base}/${repo}/issues/${number}`
        }
        issues.push(issue)
        return send(201, issue)
      }
      const state = url.searchParams.get('state') ?? 'open'
      const labels = (url.searchParams.get('labels') ?? '').split(',').filter(Boolean)
      return send(
        200,
        issues.filter(
          (i) =>
            i.repo === repo &&
            (state === 'all' || i.state === state) &&
            labels.every((l) => i.labels.some((x) => x.name === l))
        )
      )
    }
    if ((m = new RegExp(`^${REPO}/issues/(\\d+)(/comments)?$`).exec(path))) {
      const issue = issues.find((i) => i.repo === m![1] && i.number === Number(m![2]))
      if (!issue) return send(404, { message: 'Not Found' })
      if (m[3] && method === 'POST') {
        issue.comments.push(String(body.body))
        return send(201, { id: issue.comments.length })
      }
      if (method === 'PATCH') {
        if (body.state === 'open' || body.state === 'closed') issue.state = body.state
        if (typeof body.title === 'string') issue.title = body.title
        if (typeof body.body === 'string') issue.body = body.body
        return send(200, issue)
      }
      return send(200, issue)
    }
    if ((m = new RegExp(`^${REPO}/code-scanning/sarifs$`).exec(path)) && method === 'POST') {
      let sarif: ApiSarif['sarif']
      try {
        sarif = JSON.parse(
          gunzipSync(Buffer.from(String(body.sarif), 'base64')).toString('utf8')
        ) as ApiSarif['sarif']
      } catch {
        return send(400, { message: 'sarif: expected gzip-compressed, base64-encoded SARIF' })
      }
      sarifs.push({
        repo: m[1],
        commit_sha: String(body.commit_sha),
        ref: String(body.ref),
        category: body.category as string | undefined,
        sarif
      })
      return send(202, { id: `sarif-${sarifs.length}` })
    }
    return send(404, { message: 'Not Found' })
  }

  const server: Server = createServer((req, res: ServerResponse) => {
    let raw = ''
    req.on('data', (d) => (raw += d))
    req.on('end', () => {
      const send = (status: number, data: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(data))
      }
      let body: Record<string, unknown>
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {}
      } catch {
        return send(400, { message: 'Problems parsing JSON' })
      }
      handle(req, body, send)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  base = `http://127.0.0.1:${port}`
  return {
    url: base,
    token,
    deployments,
    issues,
    sarifs,
    requests,
    lastState: (d) => d.statuses.at(-1)?.state,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      })
  }
}
