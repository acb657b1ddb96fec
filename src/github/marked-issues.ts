// Issues this project keeps one of per key: a hidden marker line in the body ties an issue to
// what it tracks, so a re-run finds and edits it instead of opening another. The markers are
// already in users' issues: their text never changes.
import type { getOctokit } from '@actions/github'

export type Octokit = ReturnType<typeof getOctokit>

/** What an issue tracks, and the marker field that holds its key. */
const MARKER_FIELD = { tracking: 'key', 'security-scan': 'target' } as const
export type MarkerKind = keyof typeof MARKER_FIELD

/** GitHub refuses issue bodies over 65,536 characters. */
const MAX_BODY_CHARS = 60_000

export function markerLine(kind: MarkerKind, key: string): string {
  return `<!-- ops-actions:${kind} ${MARKER_FIELD[kind]}=${encodeURIComponent(key)} -->`
}

/** The key in an issue body's marker of this kind, or undefined. */
export function readMarkerKey(kind: MarkerKind, body: string): string | undefined {
  const m = new RegExp(`<!-- ops-actions:${kind} ${MARKER_FIELD[kind]}=(\\S+) -->`).exec(body)
  if (!m) return undefined
  try {
    return decodeURIComponent(m[1])
  } catch {
    return undefined
  }
}

/** The body with its footer (run link, marker), cut to fit GitHub's limit with a note. */
export function capIssueBody(body: string, marker: string, runUrl?: string): string {
  const footer = `\n\n${runUrl ? `_Updated by ${runUrl}_\n` : ''}${marker}\n`
  const room = MAX_BODY_CHARS - footer.length
  const text =
    body.length > room
      ? `${body.slice(0, room - 80)}\n\n_… cut to fit GitHub's issue size limit._`
      : body
  return text + footer
}

/** Issues (not pull requests) with the label whose marker key matches, oldest first. */
export async function findMarkedIssues(
  octokit: Octokit,
  where: { owner: string; repo: string; label: string; state: 'open' | 'all' },
  kind: MarkerKind,
  matches: (key: string) => boolean
) {
  const issues = await octokit.paginate(octokit.rest.issues.listForRepo, {
    owner: where.owner,
    repo: where.repo,
    state: where.state,
    labels: where.label,
    per_page: 100
  })
  return issues
    .filter((i) => {
      if (i.pull_request) return false
      const key = readMarkerKey(kind, i.body ?? '')
      return key !== undefined && matches(key)
    })
    .sort((a, b) => a.number - b.number)
}
