import type { getOctokit } from '@actions/github'
import { ToolError } from '../core/errors.js'

type Octokit = ReturnType<typeof getOctokit>

/** Label on every issue this action opens; lists are filtered by it before the marker is read. */
export const SCAN_ISSUE_LABEL = 'security-scan'

/** GitHub refuses issue bodies over 65,536 characters. */
const MAX_BODY_CHARS = 60_000

/** Hidden line that ties an issue to one scan target, so reruns update instead of duplicating. */
export function issueMarker(key: string): string {
  return `<!-- ops-actions:security-scan target=${encodeURIComponent(key)} -->`
}

export interface ScanIssueRequest {
  owner: string
  repo: string
  /** Identity of the scan target, e.g. `image:ghcr.io/acme/api:latest`. */
  key: string
  title: string
  /** Markdown of the current findings (the job summary). */
  body: string
  /** No finding at the gate: close the issue if one is open. */
  clean: boolean
  runUrl?: string
}

export interface ScanIssueOutcome {
  action: 'created' | 'updated' | 'closed' | 'none'
  number?: number
  url?: string
}

function capBody(body: string, marker: string, runUrl?: string): string {
  const footer = `\n\n${runUrl ? `_Updated by ${runUrl}_\n` : ''}${marker}\n`
  const room = MAX_BODY_CHARS - footer.length
  const text =
    body.length > room
      ? `${body.slice(0, room - 80)}\n\n_… cut to fit GitHub's issue size limit._`
      : body
  return text + footer
}

async function findOpenIssue(octokit: Octokit, owner: string, repo: string, marker: string) {
  const issues = await octokit.paginate(octokit.rest.issues.listForRepo, {
    owner,
    repo,
    state: 'open',
    labels: SCAN_ISSUE_LABEL,
    per_page: 100
  })
  return issues.find((i) => !i.pull_request && (i.body ?? '').includes(marker))
}

function explain(error: unknown): ToolError {
  const status = (error as { status?: number }).status
  const hint =
    status === 403 || status === 404 ? ' (the token needs `issues: write` on this repository)' : ''
  return new ToolError(`could not update the scan issue: ${(error as Error).message}${hint}`, {
    cause: error
  })
}

/** Opens, updates or closes the one issue that tracks findings of one scan target. */
export async function syncScanIssue(
  octokit: Octokit,
  request: ScanIssueRequest
): Promise<ScanIssueOutcome> {
  const { owner, repo } = request
  const marker = issueMarker(request.key)
  try {
    const existing = await findOpenIssue(octokit, owner, repo, marker)
    if (request.clean) {
      if (!existing) return { action: 'none' }
      await octokit.rest.issues.createComment({
        owner,
        repo,
        issue_number: existing.number,
        body: `No findings at the gate any more${request.runUrl ? ` (${request.runUrl})` : ''}; closing.`
      })
      await octokit.rest.issues.update({
        owner,
        repo,
        issue_number: existing.number,
        state: 'closed',
        state_reason: 'completed'
      })
      return { action: 'closed', number: existing.number, url: existing.html_url }
    }
    const body = capBody(request.body, marker, request.runUrl)
    if (existing) {
      await octokit.rest.issues.update({
        owner,
        repo,
        issue_number: existing.number,
        title: request.title,
        body
      })
      return { action: 'updated', number: existing.number, url: existing.html_url }
    }
    const created = await octokit.rest.issues.create({
      owner,
      repo,
      title: request.title,
      body,
      labels: [SCAN_ISSUE_LABEL]
    })
    return { action: 'created', number: created.data.number, url: created.data.html_url }
  } catch (error) {
    throw explain(error)
  }
}
