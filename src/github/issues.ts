import { ToolError } from '../core/errors.js'
import { capIssueBody, findMarkedIssues, markerLine, type Octokit } from './marked-issues.js'

/** Label on every issue this action opens; lists are filtered by it before the marker is read. */
export const SCAN_ISSUE_LABEL = 'security-scan'

/** Hidden line that ties an issue to one scan target, so reruns update instead of duplicating. */
export const issueMarker = (key: string): string => markerLine('security-scan', key)

export interface ScanIssueRequest {
  owner: string
  repo: string
  /** Identity of the scan target across versions, e.g. `image:ghcr.io/acme/api` (no tag). */
  key: string
  /**
   * Whether an issue's marker key names this target too: issues opened under older keys (with
   * the tag, one per release) are found, updated or closed, instead of staying open forever.
   */
  sameTarget?: (markerKey: string) => boolean
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

/** Open issues of this target, oldest first (the oldest keeps the history). */
const findOpenIssues = (octokit: Octokit, request: ScanIssueRequest) =>
  findMarkedIssues(
    octokit,
    { owner: request.owner, repo: request.repo, label: SCAN_ISSUE_LABEL, state: 'open' },
    'security-scan',
    (key) => key === request.key || (request.sameTarget?.(key) ?? false)
  )

async function closeIssue(
  octokit: Octokit,
  request: ScanIssueRequest,
  issueNumber: number,
  comment: string,
  reason: 'completed' | 'not_planned'
): Promise<void> {
  const { owner, repo } = request
  await octokit.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body: comment })
  await octokit.rest.issues.update({
    owner,
    repo,
    issue_number: issueNumber,
    state: 'closed',
    state_reason: reason
  })
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
    const [existing, ...duplicates] = await findOpenIssues(octokit, request)
    const run = request.runUrl ? ` (${request.runUrl})` : ''
    // Older per-tag issues of the same target: one issue stays, the rest point to it.
    for (const dup of duplicates) {
      await closeIssue(
        octokit,
        request,
        dup.number,
        `Tracked in #${existing.number} from now on${run}: one issue per scan target, whatever its tag.`,
        'not_planned'
      )
    }
    if (request.clean) {
      if (!existing) return { action: 'none' }
      await closeIssue(
        octokit,
        request,
        existing.number,
        `No findings at the gate any more${run}; closing.`,
        'completed'
      )
      return { action: 'closed', number: existing.number, url: existing.html_url }
    }
    const body = capIssueBody(request.body, marker, request.runUrl)
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
