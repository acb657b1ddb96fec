import { createServer, type Server } from 'node:http'

export interface SeedDeployment {
  id: number
  sha: string
  created_at: string
  task?: string
  description?: string
  environment: string
  statuses: { state: string; created_at: string }[]
}

export interface FakeIssue {
  number: number
  title: string
  body: string
  state: 'open' | 'closed'
  labels: string[]
}

/**
 * A stand-in for the parts of GitHub's REST API that slo-report reads and writes: deployments
 * and their statuses (seeded), commits (seeded times), issues (create, update, list by label).
 * A contract test's fake: it proves the requests we send and what we make of the answers it is
 * given, not GitHub's behaviour. Lists are newest first and paginated, as GitHub's are.
 */
export async function startFakeGitHubHistory(
  token: string,
  seed: { deployments: SeedDeployment[]; commits: Record<string, string> }
): Promise<{ url: string; issues: FakeIssue[]; requests: string[]; close(): Promise<void> }> {
  const issues: FakeIssue[] = []
  const requests: string[] = []
  const send = (res: import('node:http').ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  const server: Server = createServer((req, res) => {
    let raw = ''
    req.on('data', (d) => (raw += d))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      requests.push(`${req.method} ${url.pathname}${url.search}`)
      if (req.headers.authorization !== `token ${token}`)
        return send(res, 401, { message: 'Bad credentials' })
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {}
      const page = Number(url.searchParams.get('page') ?? 1)
      const perPage = Number(url.searchParams.get('per_page') ?? 30)
      const paged = <T>(items: T[]): T[] => items.slice((page - 1) * perPage, page * perPage)
      let m: RegExpExecArray | null
      if (req.method === 'GET' && /\/deployments$/.test(url.pathname)) {
        const env = url.searchParams.get('environment')
        const list = seed.deployments
          .filter((d) => !env || d.environment === env)
          .sort((a, b) => b.created_at.localeCompare(a.created_at))
        return send(
          res,
          200,
          paged(list).map(({ statuses: _s, ...d }) => d)
        )
      }
      if (req.method === 'GET' && (m = /\/deployments\/(\d+)\/statuses$/.exec(url.pathname))) {
        const d = seed.deployments.find((x) => x.id === Number(m![1]))
        if (!d) return send(res, 404, { message: 'Not Found' })
        return send(res, 200, paged([...d.statuses].reverse()))
      }
      if (req.method === 'GET' && (m = /\/commits\/([0-9a-f]+)$/.exec(url.pathname))) {
        const at = seed.commits[m[1]]
        if (!at) return send(res, 404, { message: 'No commit found' })
        return send(res, 200, {
          sha: m[1],
          commit: { committer: { date: at }, author: { date: at } }
        })
      }
      if (req.method === 'GET' && /\/issues$/.test(url.pathname)) {
        const label = url.searchParams.get('labels')
        return send(
          res,
          200,
          paged(issues.filter((i) => !label || i.labels.includes(label)).map(view))
        )
      }
      if (req.method === 'POST' && /\/issues$/.test(url.pathname)) {
        const issue: FakeIssue = {
          number: issues.length + 1,
          title: String(body.title),
          body: String(body.body ?? ''),
          state: 'open',
          labels: (body.labels as string[]) ?? []
        }
        issues.push(issue)
        return send(res, 201, view(issue))
      }
      if (req.method === 'PATCH' && (m = /\/issues\/(\d+)$/.exec(url.pathname))) {
        const issue = issues.find((i) => i.number === Number(m![1]))
        if (!issue) return send(res, 404, { message: 'Not Found' })
        if (typeof body.title === 'string') issue.title = body.title
        if (typeof body.body === 'string') issue.body = body.body
        if (body.state === 'open' || body.state === 'closed') issue.state = body.state
        return send(res, 200, view(issue))
      }
      send(res, 404, { message: `fake has no route for ${req.method} ${url.pathname}` })
    })
  })
  const view = (i: FakeIssue): Record<string, unknown> => ({
    ...i,
    labels: i.labels.map((name) => ({ name })),
    html_url: `https://github.example/issues/${i.number}`
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const address = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${address.port}`,
    issues,
    requests,
    close: () => new Promise((r) => server.close(() => r()))
  }
}
