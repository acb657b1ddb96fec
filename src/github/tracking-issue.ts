// One GitHub issue per key (a hidden marker line in its body), found among the issues with a
// label and updated in place, so a re-run edits the same issue instead of opening another.
import { errorMessage, ToolError } from '../core/errors.js'
import { capIssueBody, findMarkedIssues, markerLine, type Octokit } from './marked-issues.js'

export interface TrackingIssue {
  owner: string
  repo: string
  label: string
  /** Identity of what the issue tracks, e.g. `slo-report/api/production/2026-11-23`. */
  key: string
  title: string
  body: string
  /** Close it (when open) instead of leaving it open. */
  close: boolean
}

export const trackingMarker = (key: string): string => markerLine('tracking', key)

export async function syncTrackingIssue(
  octokit: Octokit,
  t: TrackingIssue
): Promise<{ action: 'created' | 'updated'; number: number; url: string }> {
  const marker = trackingMarker(t.key)
  const body = capIssueBody(t.body, marker)
  try {
    const [mine] = await findMarkedIssues(
      octokit,
      { owner: t.owner, repo: t.repo, label: t.label, state: 'all' },
      'tracking',
      (key) => key === t.key
    )
    const state = t.close ? 'closed' : 'open'
    if (mine) {
      const { data } = await octokit.rest.issues.update({
        owner: t.owner,
        repo: t.repo,
        issue_number: mine.number,
        title: t.title,
        body,
        state
      })
      return { action: 'updated', number: data.number, url: data.html_url }
    }
    const { data } = await octokit.rest.issues.create({
      owner: t.owner,
      repo: t.repo,
      title: t.title,
      body,
      labels: [t.label]
    })
    if (t.close)
      await octokit.rest.issues.update({
        owner: t.owner,
        repo: t.repo,
        issue_number: data.number,
        state: 'closed'
      })
    return { action: 'created', number: data.number, url: data.html_url }
  } catch (error) {
    throw new ToolError(`tracking issue ${t.key} not written: ${errorMessage(error)}`)
  }
}
