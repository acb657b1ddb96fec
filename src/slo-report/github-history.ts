// Reads the Deployments of one environment in a period, with their statuses and the commit
// time of each deployed SHA, from GitHub's REST API.
import type { getOctokit } from '@actions/github'
import { errorMessage, ToolError } from '../core/errors.js'
import type { DeploymentHistory } from './delivery.js'

type Octokit = ReturnType<typeof getOctokit>

export interface HistoryQuery {
  owner: string
  repo: string
  environment: string
  start: Date
  end: Date
  /** Bound on API calls: deployments read at most (newest first). */
  maxDeployments: number
}

export async function readDeployments(
  octokit: Octokit,
  q: HistoryQuery
): Promise<{ history: DeploymentHistory[]; truncated: boolean }> {
  const history: DeploymentHistory[] = []
  const commitTimes = new Map<string, Date | undefined>()
  let truncated = false
  try {
    outer: for (let page = 1; ; page++) {
      const { data } = await octokit.rest.repos.listDeployments({
        owner: q.owner,
        repo: q.repo,
        environment: q.environment,
        per_page: 100,
        page
      })
      for (const d of data) {
        const created = new Date(d.created_at)
        // Newest first: once older than the period, nothing later on can be in it.
        if (created < q.start) break outer
        if (created > q.end) continue
        if (history.length >= q.maxDeployments) {
          truncated = true
          break outer
        }
        const statuses = await octokit.rest.repos.listDeploymentStatuses({
          owner: q.owner,
          repo: q.repo,
          deployment_id: d.id,
          per_page: 100
        })
        if (!commitTimes.has(d.sha)) commitTimes.set(d.sha, await commitTime(octokit, q, d.sha))
        history.push({
          id: d.id,
          sha: d.sha,
          createdAt: created,
          task: d.task,
          description: d.description ?? undefined,
          statuses: statuses.data
            .map((s) => ({ state: s.state, createdAt: new Date(s.created_at) }))
            .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()),
          commitAt: commitTimes.get(d.sha)
        })
      }
      if (data.length < 100) break
    }
  } catch (error) {
    throw new ToolError(
      `GitHub Deployments of ${q.environment} not readable: ${errorMessage(error)}`
    )
  }
  return { history, truncated }
}

async function commitTime(
  octokit: Octokit,
  q: HistoryQuery,
  sha: string
): Promise<Date | undefined> {
  try {
    const { data } = await octokit.rest.repos.getCommit({ owner: q.owner, repo: q.repo, ref: sha })
    const at = data.commit.committer?.date ?? data.commit.author?.date
    return at ? new Date(at) : undefined
  } catch {
    // A commit that is gone (force-push) leaves lead time unknown for it, nothing more.
    return undefined
  }
}
